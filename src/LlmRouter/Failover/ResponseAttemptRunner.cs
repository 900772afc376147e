using Microsoft.Extensions.AI;

namespace LlmRouter;

/// <summary>Runs the attempts of a non-streaming request: each one a call for the whole response.</summary>
internal sealed class ResponseAttemptRunner : AttemptRunner<ChatResponse>
{
    private readonly IList<ChatMessage> _messages;
    private readonly ChatOptions? _options;
    private readonly CancellationToken _cancellationToken;

    public ResponseAttemptRunner(RouterRuntime runtime, FailoverSession session, IList<ChatMessage> messages, ChatOptions? options, CancellationToken cancellationToken)
        : base(runtime, session, streaming: false)
    {
        _messages = messages;
        _options = options;
        _cancellationToken = cancellationToken;
    }

    protected override AttemptScope CreateScope(PlanEntry entry) =>
        new(Runtime.TimeProvider, Runtime.ForAdmission(Runtime.AttemptTimeoutFor(entry.Endpoint), entry.Admission), _cancellationToken);

    protected override Task<ChatResponse> StartAttempt(PlanEntry entry, AttemptScope scope)
    {
        Task<ChatResponse> call = entry.Endpoint.Client.GetResponseAsync(_messages, _options, scope.Token);
        return call.IsCompleted || !scope.Token.CanBeCanceled ? call : LeaveWhenCancelledAsync(call, scope.Token);
    }

    /// <summary>
    /// The call, or, when the attempt's token fired (its timeout, a hedge's win, the caller) and the client still has not
    /// ended it after the same grace a stream's read gets (<see cref="GuardedStream.Grace"/>), an
    /// <see cref="OperationCanceledException"/>: a client that ignores the token must not hold the request past its timeout.
    /// </summary>
    private async Task<ChatResponse> LeaveWhenCancelledAsync(Task<ChatResponse> call, CancellationToken token)
    {
        using var grace = new CancellationTokenSource(Timeout.InfiniteTimeSpan, Runtime.TimeProvider);
        using CancellationTokenRegistration registration = token.UnsafeRegister(
            static state => ((CancellationTokenSource)state!).CancelAfter(GuardedStream.Grace), grace);
        try
        {
            return await call.WaitAsync(grace.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (grace.IsCancellationRequested)
        {
            if (call.IsCompleted)
            {
                return await call.ConfigureAwait(false); // it ended as the grace did: its own outcome stands
            }

            // Left running: its eventual failure is nobody's to handle, but it must be observed.
            _ = call.ContinueWith(
                static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            throw new OperationCanceledException(token);
        }
    }
}
