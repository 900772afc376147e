using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace LlmRouter.ChaosDemo;

/// <summary>
/// A provider on simulated time: log-normal latency with a heavy tail, and the faults of its schedule (fast 503s,
/// hung connections that end at the client's 60 s timeout, brownouts, 429 bursts, mid-stream drops). Counts its calls
/// and bills the tokens it processed.
/// </summary>
internal sealed class SimulatedProvider : IChatClient
{
    /// <summary>The client's own network timeout, as an SDK's HttpClient would have it.</summary>
    public static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(60);

    private const int Chunks = 10;
    private const double DropShare = 0.003;

    private readonly ProviderProfile _profile;
    private readonly List<FaultWindow> _faults;
    private readonly TimeProvider _time;
    private readonly long _origin;
    private readonly Random _random;
    private readonly bool _drops;
    private int _cursor;

    /// <summary>The prompts this provider processed, by the hash of their text, and when it last read each: its prompt cache.</summary>
    private readonly Dictionary<ulong, long> _promptCache = [];

    public SimulatedProvider(ProviderProfile profile, List<FaultWindow> faults, TimeProvider time, int seed, bool drops)
    {
        _profile = profile;
        _faults = faults;
        _time = time;
        _origin = time.GetTimestamp();
        _random = new Random(seed);
        _drops = drops;
    }

    public string Name => _profile.Name;

    public long Calls { get; private set; }

    public decimal Cost { get; private set; }

    /// <summary>Gets the input tokens this provider processed, and how many of them it read from its prompt cache.</summary>
    public long InputTokens { get; private set; }

    public long CachedInputTokens { get; private set; }

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        (int input, int output) = Tokens(messages);
        double factor = await BeginAsync(cancellationToken).ConfigureAwait(false);
        await WorkAsync(Draw(_profile.MedianMs * factor), input, cancellationToken).ConfigureAwait(false);
        int cached = ReadPromptCache(messages as IList<ChatMessage> ?? [.. messages], input);
        Bill(input, output, cached);
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, "simulated answer"))
        {
            FinishReason = ChatFinishReason.Stop,
            Usage = new UsageDetails { InputTokenCount = input, OutputTokenCount = output, TotalTokenCount = input + output, CachedInputTokenCount = cached },
        };
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        (int input, int output) = Tokens(messages);
        double factor = await BeginAsync(cancellationToken).ConfigureAwait(false);
        await WorkAsync(Draw(_profile.FirstTokenMs * factor), input, cancellationToken).ConfigureAwait(false);
        int dropAfter = _drops && _random.NextDouble() < DropShare ? 1 + _random.Next(Chunks - 1) : -1;
        TimeSpan gap = TimeSpan.FromMilliseconds(Math.Max(1, (_profile.MedianMs - _profile.FirstTokenMs) * factor / Chunks));
        for (int i = 0; i < Chunks; i++)
        {
            if (i == dropAfter)
            {
                Bill(input, output * i / Chunks);
                throw new IOException($"{Name}: the connection was reset mid-stream.");
            }

            yield return new ChatResponseUpdate(ChatRole.Assistant, "token ");
            await WorkAsync(gap, input, cancellationToken).ConfigureAwait(false);
        }

        Bill(input, output);
        yield return new ChatResponseUpdate
        {
            Role = ChatRole.Assistant,
            FinishReason = ChatFinishReason.Stop,
            Contents = [new UsageContent(new UsageDetails { InputTokenCount = input, OutputTokenCount = output, TotalTokenCount = input + output })],
        };
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }

    /// <summary>Applies the faults in force now; returns the latency factor (brownouts) for a call that goes ahead.</summary>
    private async Task<double> BeginAsync(CancellationToken cancellationToken)
    {
        Calls++;
        TimeSpan at = _time.GetElapsedTime(_origin);
        double factor = 1;
        while (_cursor < _faults.Count && _faults[_cursor].End <= at)
        {
            _cursor++; // sorted by start: every window before the cursor is over
        }

        for (int i = _cursor; i < _faults.Count && _faults[i].Start <= at; i++)
        {
            FaultWindow fault = _faults[i];
            if (!fault.Covers(at))
            {
                continue;
            }

            switch (fault.Kind)
            {
                case FaultKind.OutageFast:
                    await Task.Delay(TimeSpan.FromMilliseconds(80), _time, cancellationToken).ConfigureAwait(false);
                    throw new HttpRequestException($"{Name}: 503 Service Unavailable", null, System.Net.HttpStatusCode.ServiceUnavailable);
                case FaultKind.OutageHang:
                    await Task.Delay(ClientTimeout, _time, cancellationToken).ConfigureAwait(false);
                    throw new TimeoutException($"{Name}: no response within the client's {ClientTimeout.TotalSeconds:0} s timeout.");
                case FaultKind.RateLimit when _random.NextDouble() < fault.Factor:
                    await Task.Delay(TimeSpan.FromMilliseconds(40), _time, cancellationToken).ConfigureAwait(false);
                    throw new RateLimitedException(TimeSpan.FromSeconds(2 + _random.Next(19)));
                case FaultKind.Brownout:
                    factor *= fault.Factor;
                    break;
            }
        }

        return factor;
    }

    /// <summary>Waits out the provider's work; a call cancelled meanwhile (a timeout, a lost hedge) is billed its input.</summary>
    private async Task WorkAsync(TimeSpan duration, int input, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(duration, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Bill(input, 0);
            throw;
        }
    }

    private TimeSpan Draw(double medianMs) => TimeSpan.FromMilliseconds(Math.Min(LogNormal.Sample(_random, medianMs, _profile.Sigma), 120_000));

    private static (int Input, int Output) Tokens(IEnumerable<ChatMessage> messages)
    {
        int characters = 0;
        foreach (ChatMessage message in messages)
        {
            characters += message.Text.Length;
        }

        int input = Math.Max(1, characters / 4);
        return (input, 150 + (input % 400));
    }

    /// <summary>
    /// The input tokens read from the prompt cache: the previous turn's whole prompt (every message but the latest answer
    /// and question), when this provider processed it within <see cref="ProviderProfile.PromptCacheLifetime"/>. Then
    /// remembers this prompt for the next turn.
    /// </summary>
    private int ReadPromptCache(IList<ChatMessage> messages, int input)
    {
        long now = _time.GetTimestamp();
        long lifetime = (long)(ProviderProfile.PromptCacheLifetime.TotalSeconds * _time.TimestampFrequency);
        int cached = 0;
        if (messages.Count > 2 && _promptCache.TryGetValue(HashOf(messages, messages.Count - 2), out long seen) && now - seen <= lifetime)
        {
            int characters = 0;
            for (int i = 0; i < messages.Count - 2; i++)
            {
                characters += messages[i].Text.Length;
            }

            cached = Math.Min(input, characters / 4);
        }

        _promptCache[HashOf(messages, messages.Count)] = now;
        return cached;
    }

    private static ulong HashOf(IList<ChatMessage> messages, int count)
    {
        var hash = new System.IO.Hashing.XxHash3();
        for (int i = 0; i < count; i++)
        {
            hash.Append(System.Runtime.InteropServices.MemoryMarshal.AsBytes(messages[i].Text.AsSpan()));
            hash.Append([0, 0]);
        }

        return hash.GetCurrentHashAsUInt64();
    }

    private void Bill(int input, int output, int cached = 0)
    {
        InputTokens += input;
        CachedInputTokens += cached;
        Cost += (((input - cached) * _profile.InputPrice) + (cached * _profile.CachedInputPrice) + (output * _profile.OutputPrice)) / 1_000_000m;
    }
}
