using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace LlmRouter.Benchmarks;

/// <summary>An endpoint that answers at once from cached objects, so a benchmark measures only what wraps it.</summary>
internal sealed class InstantChatClient : IChatClient
{
    private readonly Task<ChatResponse> _response = Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, "ok")));
    private readonly ChatResponseUpdate[] _updates;

    /// <param name="updates">How many updates a stream has; the last one carries the finish reason, as real providers send it.</param>
    public InstantChatClient(int updates)
    {
        _updates = new ChatResponseUpdate[updates];
        for (int i = 0; i < updates; i++)
        {
            _updates[i] = new ChatResponseUpdate(ChatRole.Assistant, "token ");
        }

        _updates[^1].FinishReason = ChatFinishReason.Stop;
    }

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        _response;

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (ChatResponseUpdate update in _updates)
        {
            yield return update;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }
}
