using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace LlmRouter.Tests.TestSupport;

/// <summary>
/// A fake endpoint that answers after yielding once (so that hedges can start beside it), or fails while
/// <see cref="Failing"/> is set: a 503 before a response, or after the first chunk of a stream. Counts every call.
/// </summary>
public sealed class SwitchableChatClient(string name) : IChatClient
{
    private int _calls;

    public string Name { get; } = name;

    private volatile bool _failing;

    public bool Failing
    {
        get => _failing;
        set => _failing = value;
    }

    public int Calls => Volatile.Read(ref _calls);

    public UsageDetails Usage { get; set; } = new() { InputTokenCount = 10, OutputTokenCount = 5, TotalTokenCount = 15 };

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        _ = Interlocked.Increment(ref _calls);
        await Task.Yield();
        cancellationToken.ThrowIfCancellationRequested();
        return Failing
            ? throw RouterFactory.Http(503)
            : new ChatResponse(new ChatMessage(ChatRole.Assistant, Name)) { FinishReason = ChatFinishReason.Stop, Usage = Usage };
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        _ = Interlocked.Increment(ref _calls);
        await Task.Yield();
        yield return new ChatResponseUpdate(ChatRole.Assistant, Name);
        await Task.Yield();
        cancellationToken.ThrowIfCancellationRequested();
        if (Failing)
        {
            throw RouterFactory.Http(503);
        }

        yield return new ChatResponseUpdate(ChatRole.Assistant, " done");
        yield return new ChatResponseUpdate
        {
            Role = ChatRole.Assistant,
            FinishReason = ChatFinishReason.Stop,
            Contents = [new UsageContent(Usage)],
        };
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }
}
