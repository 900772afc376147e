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
        new(Runtime.TimeProvider, Runtime.AttemptTimeoutFor(entry.Endpoint), _cancellationToken);

    protected override Task<ChatResponse> StartAttempt(PlanEntry entry, AttemptScope scope) =>
        entry.Endpoint.Client.GetResponseAsync(_messages, _options, scope.Token);
}
