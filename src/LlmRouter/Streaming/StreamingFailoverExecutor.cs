using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.AI;

namespace LlmRouter;

/// <summary>
/// Runs a streaming request through its plan behind a first-chunk gate: updates are held back until the first one
/// that carries output, so any failure before it (an error, an in-band error update, the time-to-first-token timeout)
/// fails over invisibly, and hedges race on their first output. A failure after it is never silent: the stream ends
/// with <see cref="StreamInterruptedException"/>, or, under <see cref="MidStreamPolicy.Continue"/>, another endpoint
/// continues the answer.
/// </summary>
internal sealed class StreamingFailoverExecutor
{
    private readonly RouterRuntime _runtime;
    private readonly CandidateSelector _selector;

    public StreamingFailoverExecutor(RouterRuntime runtime, CandidateSelector selector)
    {
        _runtime = runtime;
        _selector = selector;
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IList<ChatMessage> messages, ChatOptions? options, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        TimeProvider time = _runtime.TimeProvider;
        RouterTelemetry telemetry = _runtime.Telemetry;
        long requestStart = time.GetTimestamp();
        Activity? activity = telemetry.StartRequest(options, streaming: true);

        Segment segment;
        FailoverSession session;
        ChatOptions? forwarded;
        try
        {
            RoutedRequest request = await _selector.SelectAsync(messages, options, streaming: true, cancellationToken).ConfigureAwait(false);
            telemetry.Decided(activity, request.Decision);
            forwarded = request.Options;
            session = new FailoverSession(_runtime, request, streaming: true, _selector, messages, options, cancellationToken);
            segment = await OpenAsync(session, messages, forwarded, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception)
        {
            telemetry.RequestEnded(activity, null, exception, time.GetElapsedTime(requestStart));
            throw;
        }

        RoutingInfo info = segment.Info;
        if (segment.Held.Count > 0)
        {
            RoutingInfoExtensions.Attach(segment.Held[0], info);
        }

        // Everything the caller received, across continuations: the partial text and the usage of an interruption.
        using var delivered = new UpdateLog();
        string? messageId = null;
        string? responseId = null;
        bool continuing = false;
        while (true)
        {
            Exception? failure = null;
            bool ended = !segment.Open;
            bool finished = false;
            int segmentStart = delivered.Count;
            try
            {
                // The timeout runs only while we wait on the endpoint, never while the caller holds an update.
                segment.Scope.EndWait();
                for (int i = 0; i < segment.Held.Count; i++)
                {
                    ChatResponseUpdate update = segment.Held[i];
                    _runtime.RememberProviderState(update.ConversationId, update.ContinuationToken, segment.Entry.Endpoint);
                    finished |= Deliver(update, continuing, delivered, ref messageId, ref responseId);
                    yield return update;
                }

                while (segment.Open)
                {
                    segment.Scope.BeginWait();
                    bool more;
                    try
                    {
                        more = await segment.Stream.MoveNextAsync().ConfigureAwait(false);
                    }
                    catch (Exception exception)
                    {
                        failure = exception;
                        break;
                    }

                    if (!more)
                    {
                        ended = true;
                        failure = segment.Entry.Endpoint.Options.RequiresFinishReason && !finished ? Truncated(segment.Entry.Endpoint) : null;
                        break;
                    }

                    ChatResponseUpdate update = segment.Stream.Current;
                    if (InBandError(update, segment.Entry.Endpoint) is { } error)
                    {
                        failure = error;
                        break;
                    }

                    _runtime.RememberProviderState(update.ConversationId, update.ContinuationToken, segment.Entry.Endpoint);
                    finished |= Deliver(update, continuing, delivered, ref messageId, ref responseId);
                    segment.Scope.EndWait();
                    yield return update;
                }
            }
            finally
            {
                await DisposeAbandonedAsync(segment.Stream, segment.Entry.Endpoint).ConfigureAwait(false);
                segment.Scope.Dispose();
                if (failure is null)
                {
                    // Ended well, or the caller stopped reading: either way the endpoint did its part.
                    session.RecordSuccess(
                        segment.Entry, time.GetElapsedTime(segment.Start), segment.TimeToFirstToken, UsageOf(delivered, segmentStart), abandoned: !ended);
                    telemetry.RequestEnded(activity, info, null, time.GetElapsedTime(requestStart));
                }
            }

            if (failure is null)
            {
                yield break;
            }

            Segment? next;
            try
            {
                next = await AfterFailureAsync(session, segment, failure, finished, delivered, segmentStart, messages, forwarded, cancellationToken)
                    .ConfigureAwait(false);
            }
            catch (Exception exception)
            {
                // The caller cancelled while a continuation was being opened: the request still ends, and is counted, once.
                telemetry.RequestEnded(activity, null, exception, time.GetElapsedTime(requestStart));
                throw;
            }

            if (next is null)
            {
                Exception interrupted = Interrupted(session, segment, delivered);
                telemetry.RequestEnded(activity, null, interrupted, time.GetElapsedTime(requestStart));
                throw interrupted;
            }

            info.AddContinuation(next.Entry.Endpoint.Name);
            if (next.Held.Count > 0)
            {
                RoutingInfoExtensions.Attach(next.Held[0], info);
            }

            segment = next;
            continuing = true;
        }
    }

    /// <summary>Tries the plan (hedging when enabled) until an endpoint produces its first output, or ends its stream cleanly without any.</summary>
    private async Task<Segment> OpenAsync(FailoverSession session, IList<ChatMessage> messages, ChatOptions? options, CancellationToken cancellationToken)
    {
        TimeProvider time = _runtime.TimeProvider;
        var runner = new StreamAttemptRunner(this, _runtime, session, messages, options, cancellationToken);
        if (await runner.NextSuccessAsync().ConfigureAwait(false) is not { } done)
        {
            throw session.Exhausted();
        }

        // Committed: this endpoint serves the stream; any hedge still running lost. An empty stream that ended
        // cleanly is served as it is.
        runner.Accept();
        TimeSpan timeToFirstToken = time.GetElapsedTime(done.Start);
        RoutingInfo info = session.OnSuccess(done.Entry, timeToFirstToken);
        GateAttempt gate = done.Task.Result;
        return new Segment(done.Entry, gate.Stream, done.Scope, gate.Held, gate.Open, done.Start, timeToFirstToken, info);
    }

    /// <summary>One attempt up to its first output: the updates before it are held back; an error before it fails the attempt.</summary>
    /// <param name="entry">The attempt.</param>
    /// <param name="scope">Its timeouts and cancellation.</param>
    /// <param name="messages">The request's messages.</param>
    /// <param name="options">The options endpoints receive.</param>
    /// <param name="refusalFailsOver">Whether a refusal before any output may go to a content-filter fallback (one is planned).</param>
    internal async Task<GateAttempt> OpenAttemptAsync(
        PlanEntry entry, AttemptScope scope, IList<ChatMessage> messages, ChatOptions? options, bool refusalFailsOver)
    {
        RouterEndpoint endpoint = entry.Endpoint;
        GuardedStream? stream = null;
        try
        {
            stream = new GuardedStream(endpoint.Client.GetStreamingResponseAsync(messages, options, scope.Token).GetAsyncEnumerator(scope.Token), _runtime.TimeProvider, scope.Token);
            var held = new List<ChatResponseUpdate>(2);
            while (await stream.MoveNextAsync().ConfigureAwait(false))
            {
                ChatResponseUpdate update = stream.Current;
                if (InBandError(update, endpoint) is { } error)
                {
                    throw error;
                }

                held.Add(update);
                if (IsOutput(update))
                {
                    if (refusalFailsOver && update.FinishReason == ChatFinishReason.ContentFilter && !HasText(held))
                    {
                        // Refused before saying anything (OpenAI's content_filter, Anthropic's refusal): as a
                        // non-streamed refusal, it goes to a content-filter fallback.
                        throw new InBandErrorException(endpoint.Name, "content_filter", "The endpoint refused the request (content filter) before any output.", null);
                    }

                    scope.StartOutput();
                    return new GateAttempt(endpoint, stream, held, Open: true);
                }
            }

            if (endpoint.Options.RequiresFinishReason)
            {
                // Ended before any output and without a finish reason: an empty, cut-short answer; try another.
                throw Truncated(endpoint);
            }

            return new GateAttempt(endpoint, stream, held, Open: false);
        }
        catch (Exception)
        {
            await DisposeAbandonedAsync(stream, endpoint).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Records a failure after output reached the caller and, under <see cref="MidStreamPolicy.Continue"/>, opens the
    /// stream that continues the answer; <see langword="null"/> when the stream must end with the failure.
    /// </summary>
    private async Task<Segment?> AfterFailureAsync(
        FailoverSession session,
        Segment segment,
        Exception failure,
        bool finished,
        UpdateLog delivered,
        int segmentStart,
        IList<ChatMessage> messages,
        ChatOptions? options,
        CancellationToken cancellationToken)
    {
        RouterEndpoint endpoint = segment.Entry.Endpoint;
        FailureClassification classification = session.Classify(ref failure, segment.Scope, endpoint);

        // The gate's success already gave a probe's verdict and released its slot: what follows is an ordinary attempt,
        // never retried on the same endpoint (it would repeat what the caller has).
        PlanEntry served = segment.Entry with { Retries = int.MaxValue, Admission = Admission.Admitted };
        bool stop = session.OnFailure(served, classification, failure, _runtime.TimeProvider.GetElapsedTime(segment.Start), UsageOf(delivered, segmentStart));
        segment.Failure = failure;
        segment.FailureKind = classification.Kind;
        if (classification.Kind == FailureKind.Canceled || _runtime.Options.Streaming.MidStreamPolicy != MidStreamPolicy.Continue)
        {
            return null;
        }

        if (stop)
        {
            Log.ContinuationRefused(_runtime.Logger, endpoint.Name, $"the failure ({classification.Kind}) is not one another endpoint can fix");
            return null;
        }

        if (finished)
        {
            // The answer was complete (its finish reason reached the caller): there is nothing to continue.
            Log.ContinuationRefused(_runtime.Logger, endpoint.Name, "the answer was already complete (its finish reason was delivered)");
            return null;
        }

        if (!OnlyText(delivered, out string partial))
        {
            Log.ContinuationRefused(_runtime.Logger, endpoint.Name, "the output holds more than text (a tool call may be in flight)");
            return null;
        }

        // The same endpoint continues only as a last resort, and never a conversation whose state the provider holds: its
        // stored turn may already hold the part delivered.
        bool providerState = options is { ConversationId: not null } or { ContinuationToken: not null };
        session.KeepOnly(static candidate => candidate.Options.SupportsContinuation, lastResort: providerState ? null : endpoint);
        Log.ContinuingStream(_runtime.Logger, endpoint.Name, classification.Kind, failure.GetType().Name);
        List<ChatMessage> continuation = [.. messages, new(ChatRole.Assistant, partial), new(ChatRole.User, _runtime.Options.Streaming.ContinuationPrompt)];
        try
        {
            return await OpenAsync(session, continuation, options, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
        {
            // No endpoint could continue (none supports it, all failed, or one rejected the assistant turn): the caller
            // gets the interruption, with every attempt in it.
            Log.ContinuationRefused(_runtime.Logger, endpoint.Name, $"no endpoint continued the answer ({exception.GetType().Name})");
            return null;
        }
    }

    private Exception Interrupted(FailoverSession session, Segment segment, UpdateLog delivered)
    {
        Exception failure = segment.Failure!;
        if (segment.FailureKind == FailureKind.Canceled)
        {
            return failure is OperationCanceledException ? failure : new OperationCanceledException("The caller cancelled the stream.", failure);
        }

        Log.StreamInterrupted(_runtime.Logger, segment.Entry.Endpoint.Name, segment.FailureKind, failure.GetType().Name);
        var text = new StringBuilder();
        for (int i = 0; i < delivered.Count; i++)
        {
            _ = text.Append(delivered[i].Text);
        }

        return new StreamInterruptedException(segment.Entry.Endpoint.Name, text.ToString(), UsageOf(delivered, 0), session.Attempts, failure);
    }

    private static bool HasText(List<ChatResponseUpdate> updates)
    {
        foreach (ChatResponseUpdate update in updates)
        {
            if (update.Text.Length > 0)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether the caller received only text (and usage): the condition for continuing an answer elsewhere.</summary>
    private static bool OnlyText(UpdateLog delivered, out string partial)
    {
        var text = new StringBuilder();
        for (int i = 0; i < delivered.Count; i++)
        {
            ChatResponseUpdate update = delivered[i];
            IList<AIContent> parts = update.Contents;
            for (int k = 0; k < parts.Count; k++)
            {
                AIContent content = parts[k];
                switch (content)
                {
                    case TextContent textContent:
                        _ = text.Append(textContent.Text);
                        break;
                    case UsageContent:
                        break;
                    default:
                        partial = string.Empty;
                        return false;
                }
            }
        }

        partial = text.ToString();
        return partial.Length > 0;
    }

    /// <summary>
    /// Records an update on its way to the caller: a continuation's joins the interrupted message, the first stream's
    /// sets the message it is; returns whether it carries a finish reason.
    /// </summary>
    private static bool Deliver(ChatResponseUpdate update, bool continuing, UpdateLog delivered, ref string? messageId, ref string? responseId)
    {
        if (continuing)
        {
            Rejoin(update, messageId, responseId);
        }
        else
        {
            messageId ??= update.MessageId;
            responseId ??= update.ResponseId;
        }

        delivered.Add(update);
        return update.FinishReason is not null;
    }

    /// <summary>Makes a continuation's update part of the interrupted message, so that the caller's updates merge into one answer.</summary>
    private static void Rejoin(ChatResponseUpdate update, string? messageId, string? responseId)
    {
        if (messageId is not null)
        {
            update.MessageId = messageId;
        }

        if (responseId is not null)
        {
            update.ResponseId = responseId;
        }
    }

    private static InBandErrorException? InBandError(ChatResponseUpdate update, RouterEndpoint endpoint)
    {
        IList<AIContent> parts = update.Contents;
        for (int k = 0; k < parts.Count; k++)
        {
            AIContent content = parts[k];
            if (content is ErrorContent error)
            {
                return new InBandErrorException(endpoint.Name, error.ErrorCode, error.Message, error.Details);
            }
        }

        return null;
    }

    private static InvalidDataException Truncated(RouterEndpoint endpoint) =>
        new($"The stream from endpoint '{endpoint.Name}' ended without a finish reason, so its answer is probably cut short. " +
            "If this provider never sends one, set EndpointOptions.RequiresFinishReason to false for it.");

    /// <summary>The first update that carries content or a finish reason opens the gate; role-only, empty-text and usage-only updates do not.</summary>
    private static bool IsOutput(ChatResponseUpdate update)
    {
        if (update.FinishReason is not null)
        {
            return true;
        }

        IList<AIContent> parts = update.Contents;

        for (int k = 0; k < parts.Count; k++)

        {

            AIContent content = parts[k];
            switch (content)
            {
                case UsageContent:
                    continue;

                // OpenAI's first chunk carries the role with empty text: not output yet.
                case TextContent { Text.Length: 0 }:
                case TextReasoningContent { Text.Length: 0 }:
                    continue;
                default:
                    return true;
            }
        }

        return false;
    }

    private static UsageDetails? UsageOf(UpdateLog delivered, int from)
    {
        UsageDetails? usage = null;
        for (int i = from; i < delivered.Count; i++)
        {
            IList<AIContent> parts = delivered[i].Contents;
            for (int k = 0; k < parts.Count; k++)
            {
                AIContent content = parts[k];
                if (content is UsageContent usageContent)
                {
                    usage ??= new UsageDetails();
                    usage.Add(usageContent.Details);
                }
            }
        }

        return usage;
    }

    internal async ValueTask DisposeAbandonedAsync(IAsyncEnumerator<ChatResponseUpdate>? stream, RouterEndpoint endpoint)
    {
        if (stream is null)
        {
            return;
        }

        try
        {
            await stream.DisposeAsync().ConfigureAwait(false);
        }
#pragma warning disable CA1031 // A stream we are leaving must not replace the failure or the response the caller gets.
        catch (Exception exception)
#pragma warning restore CA1031
        {
            Log.AbandonedStreamDisposeFailed(_runtime.Logger, endpoint.Name, exception.GetType().Name);
        }
    }
}
