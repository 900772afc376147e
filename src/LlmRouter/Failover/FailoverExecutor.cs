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

    private async ValueTask<ChatResponse> ExecuteAsync(
        IList<ChatMessage> messages, ChatOptions? options, Activity? activity, CancellationToken cancellationToken)
    {
        RoutedRequest request = await _selector.SelectAsync(messages, options, streaming: false, cancellationToken).ConfigureAwait(false);
        _runtime.Telemetry.Decided(activity, request.Decision);
        var session = new FailoverSession(
            _runtime, request, streaming: false, _selector, messages, options, cancellationToken);
        TimeProvider time = _runtime.TimeProvider;
        var runner = new ResponseAttemptRunner(_runtime, session, messages, request.Options, cancellationToken);
        (ChatResponse Response, PlanEntry Entry)? refused = null;
        while (await runner.NextSuccessAsync().ConfigureAwait(false) is { } done)
        {
            done.Scope.Dispose();
            ChatResponse response = done.Task.Result;
            TimeSpan duration = time.GetElapsedTime(done.Start);
            if (response.FinishReason == ChatFinishReason.ContentFilter && session.HasContentFilterFallback())
            {
                _ = session.OnFailure(done.Entry, new FailureClassification(FailureKind.ContentFilter), null, duration, response.Usage);
                refused ??= (response, done.Entry);
                continue;
            }

            runner.Accept();
            RoutingInfoExtensions.Attach(response, session.OnSuccess(done.Entry, duration));
            session.RecordSuccess(done.Entry, duration, null, response.Usage);
            _runtime.RememberProviderState(response.ConversationId, response.ContinuationToken, done.Entry.Endpoint);
            return response;
        }

        if (refused is { } answer)
        {
            // The fallbacks failed too: the refusal is still an answer, better than an exception.
            RoutingInfoExtensions.Attach(answer.Response, new RoutingInfo(answer.Entry.Endpoint.Name, [.. session.Attempts], session.Decision, session.BudgetExhausted));
            return answer.Response;
        }

        throw session.Exhausted();
    }
}
