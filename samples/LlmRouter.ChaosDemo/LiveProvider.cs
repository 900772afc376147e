using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace LlmRouter.ChaosDemo;

/// <summary>
/// A provider on real time, shared by every router instance of the fleet comparison: answers after tens of
/// milliseconds (log-normal), fails fast with 503 during its outages, and records every call it receives.
/// </summary>
/// <param name="name">The endpoint's name: one of <see cref="ProviderProfile.All"/>.</param>
/// <param name="medianMs">The median latency of an answer.</param>
/// <param name="outages">When it is down, from <see cref="Start"/>.</param>
/// <param name="time">The real clock.</param>
/// <param name="seed">Seeds the latencies.</param>
/// <param name="callerHoldsOpen">Tells whether the instance making the current call holds this provider Open or HalfOpen.</param>
internal sealed class LiveProvider(string name, double medianMs, List<FaultWindow> outages, TimeProvider time, int seed, Func<bool> callerHoldsOpen)
    : IChatClient
{
    private const double Sigma = 0.2;
    private static readonly TimeSpan FailAfter = TimeSpan.FromMilliseconds(10);
    private readonly Lock _gate = new();
    private readonly Random _random = new(seed);
    private readonly List<ProviderCall> _calls = [];
    private long _origin = long.MaxValue;

    public string Name { get; } = name;

    /// <summary>Gets a copy of the calls received so far, in arrival order.</summary>
    public ProviderCall[] Calls
    {
        get
        {
            lock (_gate)
            {
                return [.. _calls];
            }
        }
    }

    /// <summary>Starts the outage schedule's clock: the run begins now.</summary>
    public void Start() => Volatile.Write(ref _origin, time.GetTimestamp());

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        TimeSpan at = time.GetElapsedTime(Volatile.Read(ref _origin));
        bool down = outages.Exists(o => o.Covers(at));
        var call = new ProviderCall(time.GetUtcNow().ToUnixTimeMilliseconds() / 60_000, down, callerHoldsOpen());
        TimeSpan latency;
        lock (_gate)
        {
            _calls.Add(call);
            latency = down ? FailAfter : Draw();
        }

        await Task.Delay(latency, time, cancellationToken).ConfigureAwait(false);
        if (down)
        {
            throw new HttpRequestException($"{Name}: 503 Service Unavailable", null, System.Net.HttpStatusCode.ServiceUnavailable);
        }

        return new ChatResponse(new ChatMessage(ChatRole.Assistant, "live answer"))
        {
            FinishReason = ChatFinishReason.Stop,
            Usage = new UsageDetails { InputTokenCount = 200, OutputTokenCount = 150, TotalTokenCount = 350 },
        };
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ChatResponse response = await GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        foreach (ChatResponseUpdate update in response.ToChatResponseUpdates())
        {
            yield return update;
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }

    // As the simulated month's providers, with a light tail: no brownouts here.
    private TimeSpan Draw() => TimeSpan.FromMilliseconds(LogNormal.Sample(_random, medianMs, Sigma));
}
