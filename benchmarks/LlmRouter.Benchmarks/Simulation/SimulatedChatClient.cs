using System.Runtime.CompilerServices;
using LlmRouter.Simulation;
using Microsoft.Extensions.AI;

namespace LlmRouter.Benchmarks.Simulation;

/// <summary>A provider on simulated time: each call takes a drawn latency (for a stream, until its first chunk), then answers.</summary>
internal sealed class SimulatedChatClient : IChatClient
{
    private readonly TimeProvider _time;
    private readonly Func<TimeSpan> _latency;
    private int _calls;

    public SimulatedChatClient(TimeProvider time, Func<TimeSpan> latency)
    {
        _time = time;
        _latency = latency;
    }

    public int Calls => Volatile.Read(ref _calls);

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        _ = Interlocked.Increment(ref _calls);
        await Task.Delay(_latency(), _time, cancellationToken).ConfigureAwait(false);
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, "ok"))
        {
            FinishReason = ChatFinishReason.Stop,
            Usage = new UsageDetails { InputTokenCount = 20, OutputTokenCount = 40 },
        };
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        _ = Interlocked.Increment(ref _calls);
        await Task.Delay(_latency(), _time, cancellationToken).ConfigureAwait(false);
        for (int i = 0; i < 20; i++)
        {
            yield return new ChatResponseUpdate(ChatRole.Assistant, "token ");
            await Task.Delay(TimeSpan.FromMilliseconds(10), _time, cancellationToken).ConfigureAwait(false);
        }

        yield return new ChatResponseUpdate { FinishReason = ChatFinishReason.Stop };
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }
}
