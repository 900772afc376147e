using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace LlmRouter.Tests.TestSupport;

/// <summary>A simulated provider shared by every instance of a fleet: answers, fails with 503, or rate-limits with 429; counts calls.</summary>
public sealed class FleetProvider(string name) : IChatClient
{
    private int _calls;
    private int _inFlight;
    private volatile int _mode;

    public string Name { get; } = name;

    public int Calls => Volatile.Read(ref _calls);

    /// <summary>Gets or sets the usage every successful call reports; none by default.</summary>
    public UsageDetails? Usage { get; set; }

    /// <summary>Gets or sets what every call does: 200, 503 or 429.</summary>
    public int Status
    {
        get => _mode == 0 ? 200 : _mode;
        set => _mode = value == 200 ? 0 : value;
    }

    /// <summary>Gets or sets a task every call waits for before it answers; <see langword="null"/> to answer at once.</summary>
    public Task? Hold { get; set; }

    /// <summary>Gets the calls running now (waiting on <see cref="Hold"/>).</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        _ = Interlocked.Increment(ref _calls);
        int status = Status;
        if (Hold is { } hold)
        {
            return HeldAsync(hold, status, cancellationToken);
        }

        return status == 200
            ? Task.FromResult(Answer())
            : Task.FromException<ChatResponse>(RouterFactory.Http(status));
    }

    private async Task<ChatResponse> HeldAsync(Task hold, int status, CancellationToken cancellationToken)
    {
        _ = Interlocked.Increment(ref _inFlight);
        try
        {
            await hold.WaitAsync(cancellationToken);
        }
        finally
        {
            _ = Interlocked.Decrement(ref _inFlight);
        }

        return status == 200 ? Answer() : throw RouterFactory.Http(status);
    }

    private ChatResponse Answer() => new(new ChatMessage(ChatRole.Assistant, Name)) { FinishReason = ChatFinishReason.Stop, Usage = Usage };

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ChatResponse response = await GetResponseAsync(messages, options, cancellationToken);
        foreach (ChatResponseUpdate update in response.ToChatResponseUpdates())
        {
            yield return update;
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }
}
