using System.Globalization;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace LlmRouter.Tests.Reliability;

/// <summary>
/// A provider for the soak, on virtual time: down during its outage windows (fast 503s, hung connections, 429s), with
/// random latency spikes and mid-stream connection drops. Every streamed chunk is tagged <c>[stream:seq]</c> so that the
/// caller can prove it never saw a chunk twice, out of order, or interleaved with another stream's.
/// </summary>
internal sealed class SoakProvider : IChatClient
{
    public const int ChunksPerStream = 6;
    private static int s_streams;
    private readonly TimeProvider _time;
    private readonly long _origin;
    private readonly List<(long Start, long End)> _outages;
    private readonly Random _random;
    private readonly object _gate = new();
    private int _calls;

    public SoakProvider(string name, TimeProvider time, List<(long Start, long End)> outages, int seed)
    {
        Name = name;
        _time = time;
        _origin = time.GetTimestamp();
        _outages = outages;
        _random = new Random(seed);
    }

    public string Name { get; }

    public int Calls => Volatile.Read(ref _calls);

    public double SpikeShare { get; init; } = 0.02;

    public double DropShare { get; init; } = 0.01;

    /// <summary>Builds random outage windows (5–90 s) totalling about <paramref name="downShare"/> of <paramref name="total"/>, as timestamps from the provider's origin.</summary>
    public static List<(long Start, long End)> Outages(Random random, TimeSpan total, double downShare, long frequency)
    {
        var windows = new List<(long, long)>();
        double meanDown = 47.5;
        double meanUp = meanDown * (1 - downShare) / downShare;
        double t = -Math.Log(1 - random.NextDouble()) * meanUp;
        while (t < total.TotalSeconds)
        {
            double down = 5 + (random.NextDouble() * 85);
            windows.Add(((long)(t * frequency), (long)((t + down) * frequency)));
            t += down + (-Math.Log(1 - random.NextDouble()) * meanUp);
        }

        return windows;
    }

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        _ = Interlocked.Increment(ref _calls);
        (int fault, double latencyMs, _) = Draw();
        await FailOrWaitAsync(fault, latencyMs, cancellationToken).ConfigureAwait(false);
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, "answer from " + Name))
        {
            FinishReason = ChatFinishReason.Stop,
            Usage = new UsageDetails { InputTokenCount = 10, OutputTokenCount = 6, TotalTokenCount = 16 },
        };
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        _ = Interlocked.Increment(ref _calls);
        (int fault, double latencyMs, int dropAfter) = Draw();
        await FailOrWaitAsync(fault, latencyMs / 3, cancellationToken).ConfigureAwait(false);
        int stream = Interlocked.Increment(ref s_streams);
        yield return new ChatResponseUpdate { Role = ChatRole.Assistant }; // a role-only update before the first output
        for (int seq = 0; seq < ChunksPerStream; seq++)
        {
            if (seq == dropAfter)
            {
                throw new IOException($"{Name}: the connection was reset mid-stream.");
            }

            yield return new ChatResponseUpdate(ChatRole.Assistant, string.Create(CultureInfo.InvariantCulture, $"[{stream}:{seq}]"));
            await Task.Delay(TimeSpan.FromMilliseconds(latencyMs / 10), _time, cancellationToken).ConfigureAwait(false);
        }

        yield return new ChatResponseUpdate
        {
            Role = ChatRole.Assistant,
            FinishReason = ChatFinishReason.Stop,
            Contents = [new UsageContent(new UsageDetails { InputTokenCount = 10, OutputTokenCount = 6, TotalTokenCount = 16 })],
        };
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }

    /// <summary>Whether the provider is in one of its outage windows now.</summary>
    public bool IsDown()
    {
        long now = _time.GetTimestamp() - _origin;
        foreach ((long start, long end) in _outages)
        {
            if (now >= start && now < end)
            {
                return true;
            }
        }

        return false;
    }

    private (int Fault, double LatencyMs, int DropAfter) Draw()
    {
        bool down = IsDown();

        lock (_gate)
        {
            int fault = down ? 1 + _random.Next(3) : 0; // 1: fast 503, 2: hang, 3: 429
            double latency = 100 + (_random.NextDouble() * 300);
            if (_random.NextDouble() < SpikeShare)
            {
                latency *= 20; // a spike: 2–8 s
            }

            int dropAfter = _random.NextDouble() < DropShare ? 1 + _random.Next(ChunksPerStream - 1) : -1;
            return (fault, latency, dropAfter);
        }
    }

    private async Task FailOrWaitAsync(int fault, double latencyMs, CancellationToken cancellationToken)
    {
        switch (fault)
        {
            case 1:
                await Task.Delay(TimeSpan.FromMilliseconds(15), _time, cancellationToken).ConfigureAwait(false);
                throw new HttpRequestException("HTTP 503", null, System.Net.HttpStatusCode.ServiceUnavailable);
            case 2:
                await Task.Delay(Timeout.InfiniteTimeSpan, _time, cancellationToken).ConfigureAwait(false);
                break;
            case 3:
                await Task.Delay(TimeSpan.FromMilliseconds(5), _time, cancellationToken).ConfigureAwait(false);
                throw new HttpRequestException("HTTP 429", null, System.Net.HttpStatusCode.TooManyRequests);
            default:
                await Task.Delay(TimeSpan.FromMilliseconds(latencyMs), _time, cancellationToken).ConfigureAwait(false);
                break;
        }
    }
}
