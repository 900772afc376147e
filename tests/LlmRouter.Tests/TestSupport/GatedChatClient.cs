using Microsoft.Extensions.AI;

namespace LlmRouter.Tests.TestSupport;

/// <summary>
/// A fake endpoint whose calls can be held in flight until the test releases them, one by one, with an answer or an
/// exception. Calls that <see cref="Holds"/> lets through end at once (with <see cref="Failure"/>, if any). Call numbers start at 1.
/// </summary>
public sealed class GatedChatClient : IChatClient
{
    private readonly object _gate = new();
    private readonly Dictionary<int, TaskCompletionSource<Exception?>> _held = [];
    private int _calls;

    public GatedChatClient(string name) => Name = name;

    public string Name { get; }

    /// <summary>Gets or sets which calls wait for <see cref="Release"/>; every call by default.</summary>
    public Func<int, bool> Holds { get; set; } = static _ => true;

    /// <summary>Gets or sets the exception a call that is not held throws; <see langword="null"/> to answer.</summary>
    public Func<int, Exception?> Failure { get; set; } = static _ => null;

    public int Calls => Volatile.Read(ref _calls);

    /// <summary>Gets how many calls are held now.</summary>
    public int HeldCount
    {
        get
        {
            lock (_gate)
            {
                return _held.Count;
            }
        }
    }

    /// <summary>Ends held call <paramref name="call"/>: it answers, or throws <paramref name="failure"/>.</summary>
    public void Release(int call, Exception? failure = null)
    {
        TaskCompletionSource<Exception?> signal;
        lock (_gate)
        {
            if (!_held.Remove(call, out signal!))
            {
                throw new InvalidOperationException($"Call {call} of '{Name}' is not held (held: {string.Join(", ", _held.Keys)}).");
            }
        }

        _ = signal.TrySetResult(failure);
    }

    /// <summary>Lets every held call answer.</summary>
    public void ReleaseAll()
    {
        TaskCompletionSource<Exception?>[] signals;
        lock (_gate)
        {
            signals = [.. _held.Values];
            _held.Clear();
        }

        foreach (TaskCompletionSource<Exception?> signal in signals)
        {
            _ = signal.TrySetResult(null);
        }
    }

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        int call = Interlocked.Increment(ref _calls);
        Exception? failure;
        if (Holds(call))
        {
            var signal = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_gate)
            {
                _held.Add(call, signal);
            }

            failure = await signal.Task.WaitAsync(cancellationToken);
        }
        else
        {
            failure = Failure(call);
        }

        if (failure is not null)
        {
            throw failure;
        }

        return new ChatResponse(new ChatMessage(ChatRole.Assistant, $"{Name} #{call}"))
        {
            FinishReason = ChatFinishReason.Stop,
            Usage = new UsageDetails { InputTokenCount = 10, OutputTokenCount = 5, TotalTokenCount = 15 },
        };
    }

    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("GatedChatClient answers only non-streaming requests.");

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }
}
