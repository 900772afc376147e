using System.Diagnostics;
using Microsoft.Extensions.AI;

namespace LlmRouter;

/// <summary>Runs a non-streaming request through its plan: attempt, classify, retry or fail over, until a response.</summary>
internal sealed class FailoverExecutor
{
    private readonly RouterRuntime _runtime;
    private readonly CandidateSelector _selector;

    public FailoverExecutor(RouterRuntime runtime, CandidateSelector selector)
    {
        _runtime = runtime;
        _selector = selector;
    }

    public async Task<ChatResponse> GetResponseAsync(
        IList<ChatMessage> messages, ChatOptions? options, CancellationToken cancellationToken)
    {
        TimeProvider time = _runtime.TimeProvider;
        RouterTelemetry telemetry = _runtime.Telemetry;
        long start = time.GetTimestamp();
        Activity? activity = telemetry.StartRequest(options, streaming: false);
        try
        {
            ChatResponse response = await ExecuteAsync(messages, options, activity, cancellationToken).ConfigureAwait(false);
            telemetry.RequestEnded(activity, response.GetRoutingInfo(), null, time.GetElapsedTime(start));
            return response;
        }
        catch (Exception exception)
        {
            telemetry.RequestEnded(activity, null, exception, time.GetElapsedTime(start));
            throw;
        }
    }

    private async Task<ChatResponse> ExecuteAsync(
        IList<ChatMessage> messages, ChatOptions? options, Activity? activity, CancellationToken cancellationToken)
    {
        RoutedRequest request = await _selector.SelectAsync(messages, options, streaming: false, cancellationToken).ConfigureAwait(false);
        _runtime.Telemetry.Decided(activity, request.Decision);
        var session = new FailoverSession(
            _runtime, request, streaming: false, _selector, messages, options, cancellationToken);
        TimeProvider time = _runtime.TimeProvider;
        (ChatResponse Response, PlanEntry Entry)? refused = null;
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
                _ = session.OnFailure(entry, new FailureClassification(FailureKind.ContentFilter), null, duration, response.Usage);
                refused ??= (response, entry);
                continue;
            }

            RoutingInfoExtensions.Attach(response, session.OnSuccess(entry, duration));
            session.RecordSuccess(entry, duration, null, response.Usage);
            return response;
        }

        if (refused is { } answer)
        {
            // The fallbacks failed too: the refusal is still an answer, better than an exception.
            RoutingInfoExtensions.Attach(answer.Response, new RoutingInfo(answer.Entry.Endpoint.Name, [.. session.Attempts], session.Decision));
            return answer.Response;
        }

        throw session.Exhausted();
    }
}
