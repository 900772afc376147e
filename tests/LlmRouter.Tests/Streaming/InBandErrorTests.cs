using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;

namespace LlmRouter.Tests.Streaming;

/// <summary>
/// Errors a provider reports inside its stream (an <see cref="ErrorContent"/> update, such as Anthropic's
/// <c>overloaded_error</c> event): before any output they fail over like an HTTP error, classified by code; after
/// output they interrupt the stream.
/// </summary>
public sealed class InBandErrorTests
{
    private readonly ObservableFakeTimeProvider _time = new();

    [Theory]
    [InlineData("overloaded_error", FailureKind.Transient)]
    [InlineData("rate_limit_error", FailureKind.RateLimited)]
    [InlineData("api_error", FailureKind.Transient)]
    [InlineData("529", FailureKind.Transient)]
    public async Task ErrorUpdateBeforeOutput_FailsOverInvisiblyLikeAnHttpError(string code, FailureKind expected)
    {
        var a = new TimedStreamClient("a", _time).Then(new StreamScript { Chunks = ["never"], ErrorAfter = 0, ErrorCode = code, ErrorMessage = "Try later" });
        var b = new TimedStreamClient("b", _time).Streams("from ", "b");
        using RouterChatClient router = StreamKit.Router(_time, null, a, b);

        List<ChatResponseUpdate> updates = await StreamKit.CollectAsync(router);

        Assert.Equal("from b", StreamKit.Text(updates));
        Assert.DoesNotContain(updates, u => u.Contents.OfType<ErrorContent>().Any());
        RoutingInfo info = StreamKit.Info(updates);
        Assert.Equal("b", info.Endpoint);
        RoutingAttempt failed = info.Attempts[0];
        Assert.Equal(("a", expected), (failed.Endpoint, failed.Failure));
        InBandErrorException error = Assert.IsType<InBandErrorException>(failed.Exception);
        Assert.Equal("a", error.Endpoint);
        Assert.Equal(code, error.ErrorCode);
        Assert.Equal("Try later", error.ErrorMessage);
        Assert.Contains(code, error.Message, StringComparison.Ordinal);
        Assert.True(a.Calls[0].Disposed);
    }

    [Fact]
    public async Task ErrorUpdateAfterARoleOnlyUpdate_IsStillBeforeTheGate()
    {
        var a = new TimedStreamClient("a", _time).Then(new StreamScript { Chunks = ["never"], LeadingRoleUpdate = true, ErrorAfter = 0 });
        var b = new TimedStreamClient("b", _time).Streams("from b");
        using RouterChatClient router = StreamKit.Router(_time, null, a, b);

        List<ChatResponseUpdate> updates = await StreamKit.CollectAsync(router);

        Assert.Equal("from b", StreamKit.Text(updates));
        Assert.All(updates, u => Assert.NotEqual("a-msg-1", u.MessageId)); // nothing of A's reached the caller
    }

    [Fact]
    public async Task ErrorUpdateBeforeOutput_Overloaded_IsRetriedOnTheSameEndpointAfterBackoffLikeA529()
    {
        var a = new TimedStreamClient("a", _time).Then(new StreamScript { Chunks = ["never"], ErrorAfter = 0 }).Streams("second try");
        using RouterChatClient router = StreamKit.Router(_time, o => o.Retry.MaxRetriesPerEndpoint = 1, a);
        Task backoff = _time.WhenTimerCreated(TimeSpan.FromMilliseconds(100)); // full jitter of 200 ms at 0.5

        Task<List<ChatResponseUpdate>> call = StreamKit.CollectAsync(router);
        await backoff;
        _time.Advance(TimeSpan.FromMilliseconds(100));

        Assert.Equal("second try", StreamKit.Text(await call));
        Assert.Equal(2, a.CallCount);
    }

    [Fact]
    public async Task ErrorUpdateBeforeOutput_InvalidRequest_DoesNotFailOverAndSurfacesTheInBandError()
    {
        var a = new TimedStreamClient("a", _time).Then(new StreamScript
        {
            Chunks = ["never"],
            ErrorAfter = 0,
            ErrorCode = "invalid_request_error",
            ErrorMessage = "messages: roles must alternate",
            ErrorDetails = "{\"type\":\"error\"}",
        });
        var b = new TimedStreamClient("b", _time).Streams("from b");
        using RouterChatClient router = StreamKit.Router(_time, null, a, b);
        var received = new List<ChatResponseUpdate>();

        InBandErrorException error = await Assert.ThrowsAsync<InBandErrorException>(() => StreamKit.CollectAsync(router, received));

        Assert.Empty(received);
        Assert.Equal("a", error.Endpoint);
        Assert.Equal("invalid_request_error", error.ErrorCode);
        Assert.Equal("messages: roles must alternate", error.ErrorMessage);
        Assert.Equal("{\"type\":\"error\"}", error.Details);
        Assert.Equal(0, b.CallCount);
        Assert.True(a.Calls[0].Disposed);
    }

    [Fact]
    public async Task ErrorUpdateBeforeOutput_EveryEndpoint_ThrowsAllEndpointsFailedWithTheInBandErrors()
    {
        var a = new TimedStreamClient("a", _time).Then(new StreamScript { ErrorAfter = 0, ErrorCode = "overloaded_error" });
        var b = new TimedStreamClient("b", _time).Then(new StreamScript { ErrorAfter = 0, ErrorCode = "rate_limit_error" });
        using RouterChatClient router = StreamKit.Router(_time, null, a, b);

        AllEndpointsFailedException error = await Assert.ThrowsAsync<AllEndpointsFailedException>(() => StreamKit.CollectAsync(router));

        Assert.Equal([FailureKind.Transient, FailureKind.RateLimited], error.Attempts.Select(x => x.Failure!.Value));
        Assert.All(error.Attempts, x => Assert.IsType<InBandErrorException>(x.Exception));
    }

    [Fact]
    public async Task ErrorUpdateAfterOutput_ThrowsStreamInterruptedWithTheInBandErrorInside()
    {
        var a = new TimedStreamClient("a", _time).Then(new StreamScript { Chunks = ["Hel", "lo", " world"], ErrorAfter = 2, ErrorCode = "overloaded_error" });
        var b = new TimedStreamClient("b", _time).Streams("from b");
        using RouterChatClient router = StreamKit.Router(_time, null, a, b);
        var received = new List<ChatResponseUpdate>();

        StreamInterruptedException error = await Assert.ThrowsAsync<StreamInterruptedException>(() => StreamKit.CollectAsync(router, received));

        Assert.Equal("Hello", StreamKit.Text(received));
        Assert.DoesNotContain(received, u => u.Contents.OfType<ErrorContent>().Any()); // the error is the exception, not an update
        Assert.Equal("Hello", error.PartialText);
        Assert.Equal("a", error.Endpoint);
        InBandErrorException inner = Assert.IsType<InBandErrorException>(error.InnerException);
        Assert.Equal("overloaded_error", inner.ErrorCode);
        Assert.Equal(FailureKind.Transient, error.Attempts[^1].Failure);
        Assert.Same(inner, error.Attempts[^1].Exception);
        Assert.Equal(0, b.CallCount);
        Assert.True(a.Calls[0].Disposed);
    }

    [Fact]
    public async Task ErrorUpdateAfterOutput_UnderContinue_ARequestErrorIsNotContinued()
    {
        var a = new TimedStreamClient("a", _time).Then(new StreamScript { Chunks = ["Hel", "lo"], ErrorAfter = 1, ErrorCode = "invalid_request_error" });
        var b = new TimedStreamClient("b", _time).Streams("lo");
        using RouterChatClient router = StreamKit.Router(_time, o => o.Streaming.MidStreamPolicy = MidStreamPolicy.Continue, a, b);

        StreamInterruptedException error = await Assert.ThrowsAsync<StreamInterruptedException>(() => StreamKit.CollectAsync(router));

        Assert.Equal("Hel", error.PartialText);
        Assert.Equal(FailureKind.BadRequest, error.Attempts[^1].Failure);
        Assert.IsType<InBandErrorException>(error.InnerException);
        Assert.Equal(0, b.CallCount);
    }

    [Fact]
    public async Task ErrorUpdateAfterOutput_UnderContinue_OverloadedIsContinuedElsewhere()
    {
        var a = new TimedStreamClient("a", _time).Then(new StreamScript { Chunks = ["Hel", "lo"], ErrorAfter = 1, ErrorCode = "overloaded_error" });
        var b = new TimedStreamClient("b", _time).Streams("lo");
        using RouterChatClient router = StreamKit.Router(_time, o => o.Streaming.MidStreamPolicy = MidStreamPolicy.Continue, a, b);

        List<ChatResponseUpdate> updates = await StreamKit.CollectAsync(router);

        Assert.Equal("Hello", StreamKit.Text(updates));
        Assert.Equal(["b"], StreamKit.Info(updates).ContinuedBy);
    }

    // ---- DefaultFailureClassifier.FromErrorCode ----

    [Theory]
    [InlineData("request_too_large", null, FailureKind.ContextLength)]
    [InlineData("overloaded_error", null, FailureKind.Transient)]
    [InlineData("api_error", null, FailureKind.Transient)]
    [InlineData("server_error", null, FailureKind.Transient)]
    [InlineData("something_new", null, FailureKind.Transient)]
    [InlineData(null, null, FailureKind.Transient)]
    [InlineData("", "", FailureKind.Transient)]
    [InlineData("rate_limit_error", null, FailureKind.RateLimited)]
    [InlineData("rate_limit_exceeded", null, FailureKind.RateLimited)]
    [InlineData("too_many_requests", null, FailureKind.RateLimited)]
    [InlineData("insufficient_quota", null, FailureKind.RateLimited)]
    [InlineData("RATE_LIMIT_ERROR", null, FailureKind.RateLimited)]
    [InlineData("invalid_request_error", null, FailureKind.BadRequest)]
    [InlineData("bad_request", null, FailureKind.BadRequest)]
    [InlineData("INVALID_ARGUMENT", null, FailureKind.BadRequest)]
    [InlineData("authentication_error", null, FailureKind.Auth)]
    [InlineData("permission_error", null, FailureKind.Auth)]
    [InlineData("not_found_error", null, FailureKind.Auth)]
    [InlineData("invalid_api_key", null, FailureKind.Auth)]
    [InlineData("context_length_exceeded", null, FailureKind.ContextLength)]
    [InlineData("invalid_request_error", "prompt is too long: 250000 tokens > 200000 maximum", FailureKind.ContextLength)]
    [InlineData("invalid_request_error", "This model's maximum context length is 8192 tokens", FailureKind.ContextLength)]
    [InlineData("content_filter", null, FailureKind.ContentFilter)]
    [InlineData("invalid_request_error", "blocked by content management policy", FailureKind.ContentFilter)]
    [InlineData("429", null, FailureKind.RateLimited)]
    [InlineData("400", null, FailureKind.BadRequest)]
    [InlineData("400", "context_length_exceeded", FailureKind.ContextLength)]
    [InlineData("401", null, FailureKind.Auth)]
    [InlineData("404", null, FailureKind.Auth)]
    [InlineData("408", null, FailureKind.Timeout)]
    [InlineData("413", null, FailureKind.ContextLength)]
    [InlineData("500", null, FailureKind.Transient)]
    [InlineData("503", null, FailureKind.Transient)]
    [InlineData("529", null, FailureKind.Transient)]
    [InlineData("200", null, FailureKind.Transient)] // not an error status: read as an (unknown) code
    [InlineData("-400", null, FailureKind.Transient)]
    public void FromErrorCode_MapsTheProvidersCodeToAFailureKind(string? code, string? text, FailureKind expected)
    {
        FailureClassification classification = DefaultFailureClassifier.FromErrorCode(code, text);

        Assert.Equal(expected, classification.Kind);
        Assert.Null(classification.RetryAfter);
    }

    [Fact]
    public void Classify_InBandErrorException_UsesItsCodeMessageAndDetails()
    {
        var classifier = new DefaultFailureClassifier(_time);

        Assert.Equal(FailureKind.Transient, classifier.Classify(new InBandErrorException("a", "overloaded_error", "Overloaded", null))!.Value.Kind);
        Assert.Equal(FailureKind.BadRequest, classifier.Classify(new InBandErrorException("a", "invalid_request_error", "bad role", null))!.Value.Kind);
        Assert.Equal(
            FailureKind.ContextLength,
            classifier.Classify(new InBandErrorException("a", "invalid_request_error", "too big", "{\"code\":\"context_length_exceeded\"}"))!.Value.Kind);
        Assert.Equal(FailureKind.Transient, classifier.Classify(new InBandErrorException("a", null, null, null))!.Value.Kind);
    }
}
