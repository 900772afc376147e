using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace LlmRouter.Tests.TestSupport;

/// <summary>
/// A fake endpoint that answers after yielding once (so that hedges can start beside it), or fails while
/// <see cref="Failing"/> is set: a 503 before a response, or after the first chunk of a stream. Counts every call.
/// Responses (and a stream's last update) carry <see cref="ConversationId"/> and <see cref="ContinuationToken"/> when set,
/// as a provider holding conversation state does.
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

    /// <summary>Gets the options of the latest call.</summary>
    public ChatOptions? LastOptions { get; private set; }

    /// <summary>Gets or sets what the endpoint throws while <see cref="Failing"/>; a 503 by default.</summary>
    public Func<Exception> Failure { get; set; } = static () => RouterFactory.Http(503);

    public UsageDetails Usage { get; set; } = new() { InputTokenCount = 10, OutputTokenCount = 5, TotalTokenCount = 15 };

    /// <summary>Gets or sets the provider-held conversation id the endpoint's responses carry; none by default.</summary>
    public string? ConversationId { get; set; }

    /// <summary>Gets or sets the continuation token the endpoint's responses carry; none by default.</summary>
    public ResponseContinuationToken? ContinuationToken { get; set; }

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        _ = Interlocked.Increment(ref _calls);
        LastOptions = options;
        await Task.Yield();
        cancellationToken.ThrowIfCancellationRequested();
        return Failing
            ? throw Failure()
            : new ChatResponse(new ChatMessage(ChatRole.Assistant, Name))
            {
                FinishReason = ChatFinishReason.Stop,
                Usage = Usage,
                ConversationId = ConversationId,
                ContinuationToken = ContinuationToken,
            };
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        _ = Interlocked.Increment(ref _calls);
        LastOptions = options;
        await Task.Yield();
        yield return new ChatResponseUpdate(ChatRole.Assistant, Name);
        await Task.Yield();
        cancellationToken.ThrowIfCancellationRequested();
        if (Failing)
        {
            throw Failure();
        }

        yield return new ChatResponseUpdate(ChatRole.Assistant, " done");
        yield return new ChatResponseUpdate
        {
            Role = ChatRole.Assistant,
            FinishReason = ChatFinishReason.Stop,
            Contents = [new UsageContent(Usage)],
            ConversationId = ConversationId,
            ContinuationToken = ContinuationToken,
        };
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }
}
