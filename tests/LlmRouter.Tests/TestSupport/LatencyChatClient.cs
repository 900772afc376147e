using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Time.Testing;

namespace LlmRouter.Tests.TestSupport;

/// <summary>
/// A fake endpoint whose latency is scripted on a <see cref="FakeTimeProvider"/>: each call advances the fake clock by
/// <see cref="Latency"/>(call number) and then answers with usage, or throws <see cref="Failure"/>(call number).
/// Streams advance the clock by the latency before their first chunk (the time to first token), then by
/// <see cref="StreamTail"/> before their last update. Call numbers start at 1.
/// </summary>
/// <remarks>
/// The clock moves synchronously inside the call, so a test that sends requests one after another makes the router
/// measure exactly the scripted latency. Change <see cref="Latency"/> or <see cref="Failure"/> between requests to
/// script steps.
/// </remarks>
public sealed class LatencyChatClient : IChatClient
{
    private readonly FakeTimeProvider _time;
    private int _calls;

    public LatencyChatClient(string name, FakeTimeProvider time, Func<int, TimeSpan> latency)
    {
        Name = name;
        _time = time;
        Latency = latency;
    }

    /// <summary>Creates a client of constant latency.</summary>
    public LatencyChatClient(string name, FakeTimeProvider time, double milliseconds)
        : this(name, time, Fixed(milliseconds))
    {
    }

    public string Name { get; }

    /// <summary>Gets or sets the latency of call n (or its time to first token, for a stream).</summary>
    public Func<int, TimeSpan> Latency { get; set; }

    /// <summary>Gets or sets the exception call n throws after its latency; <see langword="null"/> to answer.</summary>
    public Func<int, Exception?> Failure { get; set; } = static _ => null;

    /// <summary>Gets or sets how long a stream takes after its first chunk.</summary>
    public Func<int, TimeSpan> StreamTail { get; set; } = static _ => TimeSpan.Zero;

    public long InputTokens { get; set; } = 10;

    public long OutputTokens { get; set; } = 50;

    /// <summary>Gets how many calls the endpoint received (requests and streams).</summary>
    public int Calls => Volatile.Read(ref _calls);

    /// <summary>A constant latency.</summary>
    public static Func<int, TimeSpan> Fixed(double milliseconds) => _ => TimeSpan.FromMilliseconds(milliseconds);

    /// <summary>A log-normal latency around <paramref name="medianMs"/>, drawn from a seeded generator.</summary>
    public static Func<int, TimeSpan> LogNormal(Random random, double medianMs, double sigma) => _ =>
    {
        // Box–Muller: one standard normal draw from two uniform ones.
        double u1 = 1.0 - random.NextDouble();
        double u2 = random.NextDouble();
        double normal = Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
        return TimeSpan.FromMilliseconds(medianMs * Math.Exp(sigma * normal));
    };

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        int call = Interlocked.Increment(ref _calls);
        _time.Advance(Latency(call));
        if (Failure(call) is { } failure)
        {
            return Task.FromException<ChatResponse>(failure);
        }

        return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, Name))
        {
            FinishReason = ChatFinishReason.Stop,
            Usage = Usage(),
        });
    }

    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        StreamAsync(Interlocked.Increment(ref _calls), cancellationToken);

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }

    private async IAsyncEnumerable<ChatResponseUpdate> StreamAsync(int call, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.CompletedTask;
        _time.Advance(Latency(call));
        if (Failure(call) is { } failure)
        {
            throw failure;
        }

        cancellationToken.ThrowIfCancellationRequested();
        yield return new ChatResponseUpdate(ChatRole.Assistant, Name);
        _time.Advance(StreamTail(call));
        yield return new ChatResponseUpdate
        {
            Role = ChatRole.Assistant,
            FinishReason = ChatFinishReason.Stop,
            Contents = [new UsageContent(Usage())],
        };
    }

    private UsageDetails Usage() => new() { InputTokenCount = InputTokens, OutputTokenCount = OutputTokens, TotalTokenCount = InputTokens + OutputTokens };
}
