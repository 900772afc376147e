using Microsoft.Extensions.AI;

namespace LlmRouter;

/// <summary>Runs the attempts of a streaming request, each up to its first output; a hedge that loses has its stream disposed.</summary>
internal sealed class StreamAttemptRunner : AttemptRunner<GateAttempt>
{
    private readonly StreamingFailoverExecutor _executor;
    private readonly IList<ChatMessage> _messages;
    private readonly ChatOptions? _options;
    private readonly CancellationToken _cancellationToken;

    public StreamAttemptRunner(
        StreamingFailoverExecutor executor, RouterRuntime runtime, FailoverSession session, IList<ChatMessage> messages, ChatOptions? options, CancellationToken cancellationToken)
        : base(runtime, session, streaming: true)
    {
        _executor = executor;
        _messages = messages;
        _options = options;
        _cancellationToken = cancellationToken;
    }

    protected override AttemptScope CreateScope(PlanEntry entry) =>
        new(Runtime.TimeProvider, Runtime.ForAdmission(Runtime.FirstTokenTimeoutFor(entry.Endpoint), entry.Admission), _cancellationToken, Runtime.StallTimeoutFor(entry.Endpoint));

    protected override Task<GateAttempt> StartAttempt(PlanEntry entry, AttemptScope scope) =>
        _executor.OpenAttemptAsync(entry, scope, _messages, _options, Session.HasContentFilterFallback());

    protected override ValueTask DiscardAsync(GateAttempt value) => _executor.DisposeAbandonedAsync(value.Stream, value.Endpoint);
}
