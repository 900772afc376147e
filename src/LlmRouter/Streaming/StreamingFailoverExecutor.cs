using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.AI;

namespace LlmRouter;

/// <summary>
/// Runs a streaming request through its plan behind a first-chunk gate: updates are held back until the first one
/// that carries output, so any failure before it fails over invisibly; a failure after it ends the stream with
/// <see cref="StreamInterruptedException"/>, never silently.
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

        Gate gate;
        FailoverSession session;
        try
        {
            RoutedRequest request = await _selector.SelectAsync(messages, options, streaming: true, cancellationToken).ConfigureAwait(false);
            telemetry.Decided(activity, request.Decision);
            session = new FailoverSession(
                _runtime, request, streaming: true, _selector, messages, options, cancellationToken);
            gate = await OpenGateAsync(session, messages, request.Options, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception)
        {
            telemetry.RequestEnded(activity, null, exception, time.GetElapsedTime(requestStart));
            throw;
        }

        Exception? failure = null;
        Exception? interrupted = null;
        bool ended = !gate.Open;
        List<ChatResponseUpdate> delivered = gate.Held;
        try
        {
            // The timeout runs only while we wait on the endpoint, never while the caller holds an update.
            gate.Scope.EndWait();
            foreach (ChatResponseUpdate update in gate.Held)
            {
                yield return update;
            }

            while (gate.Open)
            {
                gate.Scope.BeginWait();
                bool more;
                try
                {
                    more = await gate.Stream.MoveNextAsync().ConfigureAwait(false);
                }
                catch (Exception exception)
                {
                    failure = exception;
                    break;
                }

                if (!more)
                {
                    ended = true;
                    failure = gate.Entry.Endpoint.Options.RequiresFinishReason && !EndsWithFinishReason(delivered)
                        ? Truncated(gate.Entry.Endpoint)
                        : null;
                    break;
                }

                delivered.Add(gate.Stream.Current);
                gate.Scope.EndWait();
                yield return gate.Stream.Current;
            }
        }
        finally
        {
            await DisposeAbandonedAsync(gate.Stream, gate.Entry.Endpoint).ConfigureAwait(false);
            gate.Scope.Dispose();
            TimeSpan latency = time.GetElapsedTime(gate.Start);
            if (failure is null)
            {
                // Ended well, or the caller stopped reading: either way the endpoint did its part.
                session.RecordSuccess(gate.Entry, latency, gate.TimeToFirstToken, UsageOf(delivered), abandoned: !ended);
                telemetry.RequestEnded(activity, gate.Info, null, time.GetElapsedTime(requestStart));
            }
            else
            {
                interrupted = Interrupted(session, gate, failure, delivered, latency);
                telemetry.RequestEnded(activity, null, interrupted, time.GetElapsedTime(requestStart));
            }
        }

        if (interrupted is not null)
        {
            throw interrupted;
        }
    }

    /// <summary>Tries the plan until an endpoint produces its first output (or ends its stream cleanly without any).</summary>
    private async Task<Gate> OpenGateAsync(FailoverSession session, IList<ChatMessage> messages, ChatOptions? options, CancellationToken cancellationToken)
    {
        TimeProvider time = _runtime.TimeProvider;
        while (await session.NextAsync().ConfigureAwait(false) is { } entry)
        {
            long start = time.GetTimestamp();
            var scope = new AttemptScope(time, _runtime.AttemptTimeoutFor(entry.Endpoint), cancellationToken);
            IAsyncEnumerator<ChatResponseUpdate>? stream = null;
            var held = new List<ChatResponseUpdate>(2);
            bool open = false;
            try
            {
                stream = entry.Endpoint.Client.GetStreamingResponseAsync(messages, options, scope.Token).GetAsyncEnumerator(scope.Token);
                while (await stream.MoveNextAsync().ConfigureAwait(false))
                {
                    held.Add(stream.Current);
                    if (IsOutput(stream.Current))
                    {
                        open = true;
                        break;
                    }

                    scope.BeginWait();
                }

                if (!open && entry.Endpoint.Options.RequiresFinishReason)
                {
                    // Ended before any output and without a finish reason: an empty, cut-short answer; try another.
                    throw Truncated(entry.Endpoint);
                }
            }
            catch (Exception exception)
            {
                await DisposeAbandonedAsync(stream, entry.Endpoint).ConfigureAwait(false);
                scope.Dispose();
                FailureClassification classification = session.Classify(exception, scope);
                if (session.OnFailure(entry, classification, exception, time.GetElapsedTime(start)))
                {
                    session.ThrowStop(classification, exception);
                }

                continue;
            }

            // Committed: this endpoint serves the stream. An empty stream that ended cleanly is served as it is.
            TimeSpan timeToFirstToken = time.GetElapsedTime(start);
            RoutingInfo info = session.OnSuccess(entry, timeToFirstToken);
            if (held.Count > 0)
            {
                RoutingInfoExtensions.Attach(held[0], info);
            }

            return new Gate(entry, stream, scope, held, open, start, timeToFirstToken, info);
        }

        throw session.Exhausted();
    }

    private static bool EndsWithFinishReason(List<ChatResponseUpdate> delivered)
    {
        // Providers put the finish reason on one of the last updates (a usage update may follow it).
        for (int i = delivered.Count - 1; i >= 0; i--)
        {
            if (delivered[i].FinishReason is not null)
            {
                return true;
            }
        }

        return false;
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

        foreach (AIContent content in update.Contents)
        {
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

    private Exception Interrupted(FailoverSession session, Gate gate, Exception failure, List<ChatResponseUpdate> delivered, TimeSpan duration)
    {
        FailureClassification classification = session.Classify(failure, gate.Scope);
        // The gate's success already gave a probe's verdict and released its slot: what follows is an ordinary attempt.
        PlanEntry served = gate.Entry with { Retries = int.MaxValue, Admission = Admission.Admitted };
        UsageDetails? usage = UsageOf(delivered);
        if (classification.Kind == FailureKind.Canceled)
        {
            _ = session.OnFailure(served, classification, failure, duration, usage);
            return failure is OperationCanceledException ? failure : new OperationCanceledException(failure.Message, failure);
        }

        // The served attempt is recorded as a success up to its first output; the failure after it is recorded too.
        _ = session.OnFailure(served, classification, failure, duration, usage);
        Log.StreamInterrupted(_runtime.Logger, gate.Entry.Endpoint.Name, classification.Kind, failure);

        var text = new StringBuilder();
        foreach (ChatResponseUpdate update in delivered)
        {
            _ = text.Append(update.Text);
        }

        return new StreamInterruptedException(gate.Entry.Endpoint.Name, text.ToString(), usage, session.Attempts, failure);
    }

    private static UsageDetails? UsageOf(List<ChatResponseUpdate> delivered)
    {
        UsageDetails? usage = null;
        foreach (ChatResponseUpdate update in delivered)
        {
            foreach (AIContent content in update.Contents)
            {
                if (content is UsageContent usageContent)
                {
                    usage ??= new UsageDetails();
                    usage.Add(usageContent.Details);
                }
            }
        }

        return usage;
    }

    private async ValueTask DisposeAbandonedAsync(IAsyncEnumerator<ChatResponseUpdate>? stream, RouterEndpoint endpoint)
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
            Log.AbandonedStreamDisposeFailed(_runtime.Logger, endpoint.Name, exception);
        }
    }

    /// <summary>The attempt that passed the gate: its stream, the updates held back, and when it started.</summary>
    private sealed record Gate(
        PlanEntry Entry,
        IAsyncEnumerator<ChatResponseUpdate> Stream,
        AttemptScope Scope,
        List<ChatResponseUpdate> Held,
        bool Open,
        long Start,
        TimeSpan TimeToFirstToken,
        RoutingInfo Info);
}
