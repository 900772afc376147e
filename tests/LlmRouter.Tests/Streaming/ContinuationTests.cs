using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;

namespace LlmRouter.Tests.Streaming;

/// <summary>
/// <see cref="MidStreamPolicy.Continue"/>: after a stream failed past its first output, another endpoint continues the
/// partial answer, and the caller receives one seamless answer; or, when continuing is not safe or not possible, the
/// stream ends with <see cref="StreamInterruptedException"/> as under <see cref="MidStreamPolicy.Throw"/>.
/// </summary>
public sealed class ContinuationTests
{
    private const string Prompt = "Continue exactly where you stopped.";

    private readonly ObservableFakeTimeProvider _time = new();

    private static void Continue(LlmRouterOptions options)
    {
        options.Streaming.MidStreamPolicy = MidStreamPolicy.Continue;
        options.Streaming.ContinuationPrompt = Prompt;
    }

    private static StreamScript QuickThenThrows() => new()
    {
        Chunks = ["The ", "quick "],
        UsageAfter = 2,
        Usage = new UsageDetails { InputTokenCount = 10, OutputTokenCount = 2, TotalTokenCount = 12 },
        ThrowAfter = 2,
        Exception = RouterFactory.Http(502),
    };

    private static StreamScript BrownFox() => new()
    {
        Chunks = ["brown ", "fox."],
        FinishUsage = new UsageDetails { InputTokenCount = 20, OutputTokenCount = 3, TotalTokenCount = 23 },
    };

    [Fact]
    public async Task Continue_AfterAnError_TheCallerGetsOneSeamlessAnswer()
    {
        var a = new TimedStreamClient("a", _time).Then(QuickThenThrows());
        var b = new TimedStreamClient("b", _time).Then(BrownFox());
        using RouterChatClient router = StreamKit.Router(_time, Continue, a, b);

        List<ChatResponseUpdate> updates = await StreamKit.CollectAsync(router);

        Assert.Equal("The quick brown fox.", StreamKit.Text(updates));
        Assert.Equal(["The ", "quick ", "brown ", "fox."], updates.Where(u => u.Text.Length > 0).Select(u => u.Text));

        // B got the original conversation, the partial answer as the assistant's turn, then the continuation prompt.
        List<ChatMessage> sent = Assert.Single(b.Calls).Messages;
        Assert.Equal([ChatRole.User, ChatRole.Assistant, ChatRole.User], sent.Select(m => m.Role));
        Assert.Equal(["hello", "The quick ", Prompt], sent.Select(m => m.Text));
        Assert.Equal(RouterFactory.Hello().Select(m => m.Text), a.Calls[0].Messages.Select(m => m.Text));

        // The continuation's updates are part of the interrupted message.
        Assert.All(updates, u => Assert.Equal("a-msg-1", u.MessageId));
        Assert.All(updates, u => Assert.Equal("a-resp-1", u.ResponseId));
        ChatResponse response = updates.ToChatResponse();
        ChatMessage message = Assert.Single(response.Messages);
        Assert.Equal(ChatRole.Assistant, message.Role);
        Assert.Equal("The quick brown fox.", message.Text);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        Assert.Equal("a-resp-1", response.ResponseId);

        // Usage of both streams.
        Assert.Equal(30, response.Usage?.InputTokenCount);
        Assert.Equal(5, response.Usage?.OutputTokenCount);
        Assert.Equal(35, response.Usage?.TotalTokenCount);

        RoutingInfo info = StreamKit.Info(updates);
        Assert.Equal("a", info.Endpoint);
        Assert.Equal(["b"], info.ContinuedBy);
        Assert.Contains(info.Attempts, x => x is { Endpoint: "a", Failure: FailureKind.Transient });
        Assert.Equal(("b", (FailureKind?)null), (info.Attempts[^1].Endpoint, info.Attempts[^1].Failure));
        Assert.True(a.Calls[0].Disposed);
    }

    [Fact]
    public async Task Continue_CallerCancelsWhileTheContinuationOpens_TheRequestIsCountedCanceledOnce()
    {
        var a = new ScriptedChatClient("a").Then(ScriptedChatClient.ScriptStep.StreamFailingAfter(1, RouterFactory.Http(502), "The ", "quick "));
        var b = new ScriptedChatClient("b").Hangs(always: true);
        using RouterChatClient router = RouterFactory.Create(_time, Continue, a, b);
        using var measurements = new Caching.RouterMeasurements(router);
        using var cancellation = new CancellationTokenSource();

        await using IAsyncEnumerator<ChatResponseUpdate> stream = router.GetStreamingResponseAsync(RouterFactory.Hello(), null, cancellation.Token).GetAsyncEnumerator(TestContext.Current.CancellationToken);
        Assert.True(await stream.MoveNextAsync());
        Assert.Equal("The ", stream.Current.Text);
        ValueTask<bool> next = stream.MoveNextAsync(); // a fails; b is asked to continue and hangs before its first output
        Assert.True(await Caching.CacheRouter.EventuallyAsync(() => b.Calls == 1, TimeSpan.FromSeconds(10)), "the continuation never reached b");
        await cancellation.CancelAsync();

        _ = await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await next);
        Assert.Equal(1, measurements.Sum("llmrouter.requests"));
        Assert.Equal(1, measurements.Sum("llmrouter.requests", "llmrouter.outcome", "canceled"));
    }

    [Fact]
    public async Task Continue_AfterAStall_ContinuesWithNoDuplicatedOrLostText()
    {
        var a = new TimedStreamClient("a", _time).Then(new StreamScript { Chunks = ["The ", "quick ", "brown "], StallAfter = 2 });
        var b = new TimedStreamClient("b", _time).Then(BrownFox());
        using RouterChatClient router = StreamKit.Router(
            _time,
            o =>
            {
                Continue(o);
                o.Streaming.StallTimeout = TimeSpan.FromSeconds(5);
            },
            a,
            b);

        Task<List<ChatResponseUpdate>> call = StreamKit.CollectAsync(router);
        await a.WhenWaiting();
        _time.Advance(TimeSpan.FromSeconds(5));
        List<ChatResponseUpdate> updates = await call;

        Assert.Equal("The quick brown fox.", StreamKit.Text(updates));
        Assert.Equal("The quick ", b.Calls[0].Messages[^2].Text);
        Assert.True(a.Calls[0].Token.IsCancellationRequested);
        Assert.True(a.Calls[0].Disposed);
        RoutingInfo info = StreamKit.Info(updates);
        Assert.Equal(["b"], info.ContinuedBy);
        Assert.Contains(info.Attempts, x => x is { Endpoint: "a", Failure: FailureKind.Timeout });
        Assert.Single(updates.ToChatResponse().Messages);
    }

    [Fact]
    public async Task Continue_AfterAStreamThatEndedWithoutFinishReason_ContinuesTheCutShortAnswer()
    {
        var a = new TimedStreamClient("a", _time).Then(new StreamScript { Chunks = ["The ", "quick "], OmitFinishReason = true });
        var b = new TimedStreamClient("b", _time).Then(BrownFox());
        using RouterChatClient router = StreamKit.Router(_time, Continue, a, b);

        List<ChatResponseUpdate> updates = await StreamKit.CollectAsync(router);

        Assert.Equal("The quick brown fox.", StreamKit.Text(updates));
        Assert.Equal(["b"], StreamKit.Info(updates).ContinuedBy);
        Assert.Equal(ChatFinishReason.Stop, updates.ToChatResponse().FinishReason);
    }

    [Fact]
    public async Task Continue_TheContinuationEndsWithoutFinishReason_IsNotASuccess()
    {
        var a = new TimedStreamClient("a", _time).Then(QuickThenThrows());
        var b = new TimedStreamClient("b", _time).Then(new StreamScript { Chunks = ["brown "], OmitFinishReason = true });
        using RouterChatClient router = StreamKit.Router(_time, Continue, a, b);
        var received = new List<ChatResponseUpdate>();

        StreamInterruptedException error = await Assert.ThrowsAsync<StreamInterruptedException>(() => StreamKit.CollectAsync(router, received));

        Assert.Equal("The quick brown ", StreamKit.Text(received));
        Assert.Equal("The quick brown ", error.PartialText);
        Assert.Equal("b", error.Endpoint);
        Assert.IsType<InvalidDataException>(error.InnerException);
    }

    [Fact]
    public async Task Continue_EndsBeforeAnyOutputWithoutFinishReason_FailsOverNotContinues()
    {
        var a = new TimedStreamClient("a", _time).Then(new StreamScript { LeadingRoleUpdate = true, OmitFinishReason = true });
        var b = new TimedStreamClient("b", _time).Streams("from b");
        using RouterChatClient router = StreamKit.Router(_time, Continue, a, b);

        List<ChatResponseUpdate> updates = await StreamKit.CollectAsync(router);

        Assert.Equal("from b", StreamKit.Text(updates));
        RoutingInfo info = StreamKit.Info(updates);
        Assert.Equal("b", info.Endpoint);
        Assert.Empty(info.ContinuedBy);
        Assert.Equal(["hello"], b.Calls[0].Messages.Select(m => m.Text)); // the original request, no continuation prompt
    }

    [Fact]
    public async Task Continue_ChainOfContinuations_EachGetsEverythingSoFar()
    {
        var a = new TimedStreamClient("a", _time).Then(QuickThenThrows());
        var b = new TimedStreamClient("b", _time).Then(new StreamScript { Chunks = ["brown "], ThrowAfter = 1 });
        var c = new TimedStreamClient("c", _time).Streams("fox.");
        using RouterChatClient router = StreamKit.Router(_time, Continue, a, b, c);

        List<ChatResponseUpdate> updates = await StreamKit.CollectAsync(router);

        Assert.Equal("The quick brown fox.", StreamKit.Text(updates));
        Assert.Equal(["b", "c"], StreamKit.Info(updates).ContinuedBy);
        Assert.Equal(["hello", "The quick brown ", Prompt], c.Calls[0].Messages.Select(m => m.Text));
        Assert.Single(updates.ToChatResponse().Messages);
    }

    [Fact]
    public async Task Continue_FirstStreamWithoutMessageIds_StillMergesIntoOneMessage()
    {
        var a = new TimedStreamClient("a", _time).Then(QuickThenThrows() with { OmitIds = true });
        var b = new TimedStreamClient("b", _time).Then(BrownFox());
        using RouterChatClient router = StreamKit.Router(_time, Continue, a, b);

        List<ChatResponseUpdate> updates = await StreamKit.CollectAsync(router);

        ChatResponse response = updates.ToChatResponse();
        Assert.Equal("The quick brown fox.", response.Text);
        Assert.Equal("The quick brown fox.", Assert.Single(response.Messages).Text);
    }

    [Fact]
    public async Task Continue_FailureAfterTheFinishReasonWasDelivered_DoesNotAskAnotherEndpointToContinue()
    {
        // The answer is complete (its finish reason reached the caller); only the connection failed afterwards. A
        // continuation would append text after the end of a finished answer.
        var a = new TimedStreamClient("a", _time).Then(new StreamScript { Chunks = ["The quick brown fox."], ThrowAfterFinish = true });
        var b = new TimedStreamClient("b", _time).Streams(" Also, here is more.");
        using RouterChatClient router = StreamKit.Router(_time, Continue, a, b);
        var received = new List<ChatResponseUpdate>();

        try
        {
            _ = await StreamKit.CollectAsync(router, received);
        }
        catch (StreamInterruptedException)
        {
            // Ending with the interruption is acceptable; continuing a finished answer is not.
        }

        Assert.Equal("The quick brown fox.", StreamKit.Text(received));
        Assert.Equal(0, b.CallCount);
    }

    // ---- Refusals ----

    [Fact]
    public async Task Continue_ToolCallDeliveredBeforeTheFailure_ThrowsAndNeverCallsTheNextEndpoint()
    {
        var a = new TimedStreamClient("a", _time).Then(new StreamScript { Chunks = ["Let me check. "], ToolCallAfter = 1, ThrowAfter = 1 });
        var b = new TimedStreamClient("b", _time).Then(BrownFox());
        using RouterChatClient router = StreamKit.Router(_time, Continue, a, b);
        var received = new List<ChatResponseUpdate>();

        StreamInterruptedException error = await Assert.ThrowsAsync<StreamInterruptedException>(() => StreamKit.CollectAsync(router, received));

        Assert.Contains(received, u => u.Contents.OfType<FunctionCallContent>().Any());
        Assert.Equal("Let me check. ", error.PartialText);
        Assert.IsType<HttpRequestException>(error.InnerException);
        Assert.Equal(0, b.CallCount);
    }

    [Fact]
    public async Task Continue_ToolCallAsTheOnlyOutput_ThrowsAndNeverCallsTheNextEndpoint()
    {
        var a = new TimedStreamClient("a", _time).Then(new StreamScript { ToolCallAfter = 0, ThrowAfter = 0 });
        var b = new TimedStreamClient("b", _time).Then(BrownFox());
        using RouterChatClient router = StreamKit.Router(_time, Continue, a, b);

        StreamInterruptedException error = await Assert.ThrowsAsync<StreamInterruptedException>(() => StreamKit.CollectAsync(router));

        Assert.Equal(string.Empty, error.PartialText);
        Assert.Equal(0, b.CallCount);
    }

    [Fact]
    public async Task Continue_SkipsEndpointsThatDoNotSupportContinuation()
    {
        var a = new TimedStreamClient("a", _time).Then(QuickThenThrows());
        var b = new TimedStreamClient("b", _time).Then(BrownFox());
        var c = new TimedStreamClient("c", _time).Then(BrownFox());
        using RouterChatClient router = StreamKit.Router(
            _time,
            Continue,
            ("a", a, null),
            ("b", b, e => e.SupportsContinuation = false),
            ("c", c, null));

        List<ChatResponseUpdate> updates = await StreamKit.CollectAsync(router);

        Assert.Equal("The quick brown fox.", StreamKit.Text(updates));
        Assert.Equal(0, b.CallCount);
        Assert.Equal(1, c.CallCount);
        Assert.Equal(["c"], StreamKit.Info(updates).ContinuedBy);
        Assert.DoesNotContain(StreamKit.Info(updates).Attempts, x => x.Endpoint == "b");
    }

    [Fact]
    public async Task Continue_WaitingForRecoveryAfterFailures_StillNeverContinuesWhereContinuingIsNotSupported()
    {
        // a breaks, and so does its own continuation (the last resort); the plan made again after those failures has
        // only b, which does not support continuation.
        var a = new TimedStreamClient("a", _time).Then(QuickThenThrows()).Then(QuickThenThrows());
        var b = new TimedStreamClient("b", _time).Then(BrownFox());
        using RouterChatClient router = StreamKit.Router(
            _time,
            o =>
            {
                Continue(o);
                o.Health.WaitForRecoveryAfterFailures = true;
            },
            ("a", a, null),
            ("b", b, e => e.SupportsContinuation = false));

        StreamInterruptedException error = await Assert.ThrowsAsync<StreamInterruptedException>(() => StreamKit.CollectAsync(router));

        Assert.StartsWith("The quick ", error.PartialText, StringComparison.Ordinal);
        Assert.Equal(2, a.CallCount);
        Assert.Equal(0, b.CallCount);
    }

    [Fact]
    public async Task Continue_NoEndpointSupportsContinuation_ThrowsStreamInterrupted()
    {
        var a = new TimedStreamClient("a", _time).Then(QuickThenThrows());
        var b = new TimedStreamClient("b", _time).Then(BrownFox());
        using RouterChatClient router = StreamKit.Router(_time, Continue, ("a", a, null), ("b", b, e => e.SupportsContinuation = false));
        var received = new List<ChatResponseUpdate>();

        StreamInterruptedException error = await Assert.ThrowsAsync<StreamInterruptedException>(() => StreamKit.CollectAsync(router, received));

        Assert.Equal("The quick ", StreamKit.Text(received));
        Assert.Equal("The quick ", error.PartialText);
        Assert.Equal("a", error.Endpoint);
        Assert.IsType<HttpRequestException>(error.InnerException);
        Assert.Equal(12, error.Usage?.TotalTokenCount);
        Assert.Equal(0, b.CallCount);
    }

    [Fact]
    public async Task Continue_SingleEndpoint_ContinuesOnTheSameEndpoint_AsALastResort()
    {
        var a = new TimedStreamClient("a", _time).Then(QuickThenThrows()).Then(BrownFox());
        using RouterChatClient router = StreamKit.Router(_time, o =>
        {
            Continue(o);
            o.Retry.MaxRetriesPerEndpoint = 3;
        }, a);
        var received = new List<ChatResponseUpdate>();

        await StreamKit.CollectAsync(router, received);

        // The connection broke, not the endpoint: the continuation asks for what follows "The quick ", so the same
        // endpoint repeats nothing; it is asked once, never the original request again.
        Assert.StartsWith("The quick ", StreamKit.Text(received), StringComparison.Ordinal);
        Assert.Equal(2, a.CallCount);
        Assert.Equal(["a"], StreamKit.Info(received).ContinuedBy);
    }

    [Fact]
    public async Task Continue_SingleEndpoint_ItsContinuationBreaksToo_ThrowsStreamInterruptedAfterOneContinuation()
    {
        var a = new TimedStreamClient("a", _time).Then(QuickThenThrows()).Then(QuickThenThrows()).Then(BrownFox());
        using RouterChatClient router = StreamKit.Router(_time, o =>
        {
            Continue(o);
            o.Retry.MaxRetriesPerEndpoint = 3;
        }, a);

        StreamInterruptedException error = await Assert.ThrowsAsync<StreamInterruptedException>(() => StreamKit.CollectAsync(router));

        Assert.StartsWith("The quick ", error.PartialText, StringComparison.Ordinal);
        Assert.Equal(2, a.CallCount);
    }

    [Fact]
    public async Task Continue_ContinuingEndpointRejectsThePrefillWith400_ThrowsStreamInterruptedNotThe400()
    {
        var a = new TimedStreamClient("a", _time).Then(QuickThenThrows());
        var b = new TimedStreamClient("b", _time).Then(new StreamScript { ThrowAfter = 0, Exception = RouterFactory.Http(400) });
        using RouterChatClient router = StreamKit.Router(_time, Continue, a, b);
        var received = new List<ChatResponseUpdate>();

        StreamInterruptedException error = await Assert.ThrowsAsync<StreamInterruptedException>(() => StreamKit.CollectAsync(router, received));

        Assert.Equal("The quick ", StreamKit.Text(received));
        Assert.Equal("The quick ", error.PartialText);
        Assert.Equal("a", error.Endpoint);
        HttpRequestException inner = Assert.IsType<HttpRequestException>(error.InnerException);
        Assert.Equal(System.Net.HttpStatusCode.BadGateway, inner.StatusCode); // A's failure, not B's 400
        Assert.Contains(error.Attempts, x => x is { Endpoint: "b", Failure: FailureKind.BadRequest });
        Assert.Equal(1, b.CallCount);
        Assert.True(b.Calls[0].Disposed);
    }

    [Fact]
    public async Task Continue_ContinuingEndpointFailsTransientlyBeforeOutput_TheNextCapableEndpointContinues()
    {
        var a = new TimedStreamClient("a", _time).Then(QuickThenThrows());
        var b = new TimedStreamClient("b", _time).Then(new StreamScript { ThrowAfter = 0, Exception = RouterFactory.Http(503) });
        var c = new TimedStreamClient("c", _time).Then(BrownFox());
        using RouterChatClient router = StreamKit.Router(_time, Continue, a, b, c);

        List<ChatResponseUpdate> updates = await StreamKit.CollectAsync(router);

        Assert.Equal("The quick brown fox.", StreamKit.Text(updates));
        Assert.Equal(["c"], StreamKit.Info(updates).ContinuedBy);
        Assert.Equal(["hello", "The quick ", Prompt], c.Calls[0].Messages.Select(m => m.Text));
    }

    [Fact]
    public async Task Continue_EveryContinuationFails_ThrowsStreamInterruptedWithEveryAttempt()
    {
        var a = new TimedStreamClient("a", _time).Then(QuickThenThrows());
        var b = new TimedStreamClient("b", _time).Then(new StreamScript { ThrowAfter = 0, Exception = RouterFactory.Http(503) });
        var c = new TimedStreamClient("c", _time).Then(new StreamScript { ErrorAfter = 0, ErrorCode = "overloaded_error" });
        using RouterChatClient router = StreamKit.Router(_time, Continue, a, b, c);

        StreamInterruptedException error = await Assert.ThrowsAsync<StreamInterruptedException>(() => StreamKit.CollectAsync(router));

        Assert.Equal("The quick ", error.PartialText);
        Assert.Equal("a", error.Endpoint);
        Assert.Contains(error.Attempts, x => x is { Endpoint: "b", Failure: FailureKind.Transient });
        Assert.Contains(error.Attempts, x => x is { Endpoint: "c", Failure: FailureKind.Transient });
    }

    [Fact]
    public async Task DefaultPolicyThrow_NeverCallsTheNextEndpoint()
    {
        var a = new TimedStreamClient("a", _time).Then(QuickThenThrows());
        var b = new TimedStreamClient("b", _time).Then(BrownFox());
        using RouterChatClient router = StreamKit.Router(_time, null, a, b);
        Assert.Equal(MidStreamPolicy.Throw, new LlmRouterOptions().Streaming.MidStreamPolicy);

        StreamInterruptedException error = await Assert.ThrowsAsync<StreamInterruptedException>(() => StreamKit.CollectAsync(router));

        Assert.Equal("The quick ", error.PartialText);
        Assert.Equal(0, b.CallCount);
    }
}
