using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace LlmRouter.IntegrationTests.TestSupport;

/// <summary>An in-process endpoint that always answers, counting calls: where failed-over traffic lands.</summary>
public sealed class BackupChatClient : IChatClient
{
    private int _calls;

    /// <summary>The answer's text.</summary>
    public const string Text = "from backup";

    /// <summary>Gets how many requests reached this endpoint.</summary>
    public int Calls => Volatile.Read(ref _calls);

    /// <inheritdoc/>
    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        _ = Interlocked.Increment(ref _calls);
        return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, Text)) { FinishReason = ChatFinishReason.Stop });
    }

    /// <inheritdoc/>
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        _ = Interlocked.Increment(ref _calls);
        await Task.Yield();
        yield return new ChatResponseUpdate(ChatRole.Assistant, Text);
        yield return new ChatResponseUpdate { FinishReason = ChatFinishReason.Stop };
    }

    /// <inheritdoc/>
    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    /// <inheritdoc/>
    public void Dispose()
    {
    }
}
