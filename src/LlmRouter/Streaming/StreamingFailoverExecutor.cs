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
        RoutedRequest request = await _selector.SelectAsync(messages, options, streaming: true, cancellationToken).ConfigureAwait(false);
        var session = new FailoverSession(_runtime, request, streaming: true, cancellationToken);
        TimeProvider time = _runtime.TimeProvider;
        while (await session.NextAsync().ConfigureAwait(false) is { } entry)
        {
            long start = time.GetTimestamp();
            var scope = new AttemptScope(time, _runtime.AttemptTimeoutFor(entry.Endpoint), cancellationToken);
            IAsyncEnumerator<ChatResponseUpdate>? stream = null;
            var held = new List<ChatResponseUpdate>(2);
            bool gateOpen = false;
            Exception? failure = null;
            try
            {
                stream = entry.Endpoint.Client.GetStreamingResponseAsync(messages, request.Options, scope.Token).GetAsyncEnumerator(scope.Token);
                while (await stream.MoveNextAsync().ConfigureAwait(false))
                {
                    held.Add(stream.Current);
                    if (IsOutput(stream.Current))
                    {
                        gateOpen = true;
                        break;
                    }

                    scope.Restart();
                }
            }
            catch (Exception exception)
            {
                failure = exception;
            }

            if (failure is not null)
            {
                await DisposeAbandonedAsync(stream, entry.Endpoint).ConfigureAwait(false);
                scope.Dispose();
                FailureClassification classification = session.Classify(failure, scope);
                if (session.OnFailure(entry, classification, failure, time.GetElapsedTime(start)))
                {
                    session.ThrowStop(classification, failure);
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

            List<ChatResponseUpdate> delivered = held;
            try
            {
                foreach (ChatResponseUpdate update in held)
                {
                    yield return update;
                }

                while (gateOpen)
                {
                    scope.Restart();
                    bool more;
                    try
                    {
                        more = await stream!.MoveNextAsync().ConfigureAwait(false);
                    }
                    catch (Exception exception)
                    {
                        failure = exception;
                        break;
                    }

                    if (!more)
                    {
                        break;
                    }

                    delivered.Add(stream.Current);
                    yield return stream.Current;
                }
            }
            finally
            {
                await DisposeAbandonedAsync(stream, entry.Endpoint).ConfigureAwait(false);
                scope.Dispose();
                if (failure is null)
                {
                    // Ended well, or the caller stopped reading: either way the endpoint did its part.
                    session.RecordSuccess(entry, time.GetElapsedTime(start), timeToFirstToken, UsageOf(delivered));
                }
            }

            if (failure is not null)
            {
                throw Interrupted(session, entry, scope, failure, delivered, time.GetElapsedTime(start));
            }

            yield break;
        }

        throw session.Exhausted();
    }

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

    private Exception Interrupted(
        FailoverSession session, PlanEntry entry, AttemptScope scope, Exception failure, List<ChatResponseUpdate> delivered, TimeSpan duration)
    {
        FailureClassification classification = session.Classify(failure, scope);
        if (classification.Kind == FailureKind.Canceled)
        {
            _ = session.OnFailure(entry, classification, failure, duration);
            return failure is OperationCanceledException ? failure : new OperationCanceledException(failure.Message, failure);
        }

        // The served attempt is recorded as a success up to its first output; the failure after it is recorded too.
        _ = session.OnFailure(entry with { Retries = int.MaxValue }, classification, failure, duration);
        Log.StreamInterrupted(_runtime.Logger, entry.Endpoint.Name, classification.Kind, failure);

        var text = new StringBuilder();
        foreach (ChatResponseUpdate update in delivered)
        {
            _ = text.Append(update.Text);
        }

        return new StreamInterruptedException(entry.Endpoint.Name, text.ToString(), UsageOf(delivered), session.Attempts, failure);
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
}
