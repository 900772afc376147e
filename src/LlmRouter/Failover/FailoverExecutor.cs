using Microsoft.Extensions.AI;

namespace LlmRouter;

/// <summary>Runs a non-streaming request through its plan: attempt, classify, retry or fail over, until a response.</summary>
internal sealed class FailoverExecutor
{
    private readonly RouterRuntime _runtime;

    public FailoverExecutor(RouterRuntime runtime) => _runtime = runtime;

    public async Task<ChatResponse> GetResponseAsync(
        IList<ChatMessage> messages, RoutedRequest request, CancellationToken cancellationToken)
    {
        var session = new FailoverSession(_runtime, request.Candidates, cancellationToken);
        TimeProvider time = _runtime.TimeProvider;
        while (await session.NextAsync().ConfigureAwait(false) is { } entry)
        {
            long start = time.GetTimestamp();
            ChatResponse response;
            using (var scope = new AttemptScope(time, _runtime.AttemptTimeoutFor(entry.Endpoint), cancellationToken))
            {
                try
                {
                    response = await entry.Endpoint.Client.GetResponseAsync(messages, request.Options, scope.Token).ConfigureAwait(false);
                }
                catch (Exception exception)
                {
                    FailureClassification classification = session.Classify(exception, scope);
                    if (session.OnFailure(entry, classification, exception, time.GetElapsedTime(start)))
                    {
                        session.ThrowStop(classification, exception);
                    }

                    continue;
                }
            }

            TimeSpan duration = time.GetElapsedTime(start);
            if (response.FinishReason == ChatFinishReason.ContentFilter && session.HasContentFilterFallback())
            {
                _ = session.OnFailure(entry, new FailureClassification(FailureKind.ContentFilter), null, duration);
                continue;
            }

            RoutingInfoExtensions.Attach(response, session.OnSuccess(entry, duration));
            return response;
        }

        throw session.Exhausted();
    }
}
