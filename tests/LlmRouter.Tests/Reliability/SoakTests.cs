using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using LlmRouter.Simulation;
using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;

namespace LlmRouter.Tests.Reliability;

/// <summary>
/// The soak: many requests, streamed and not, across four endpoints each down for random windows totalling 30 % of
/// the time, with latency spikes and mid-stream drops, on virtual time. 10,000 requests in CI; 100,000 with
/// <c>LLMROUTER_FULL_RELIABILITY=1</c>.
/// </summary>
[Collection(IsolatedReliabilityDefinition.Name)]
public sealed class SoakTests
{
    private const double RequestsPerSecond = 50;

    [Fact]
    public Task Soak_RandomOutagesSpikesAndDrops_EveryRequestEndsOnce_StreamsNeverRepeatOrInterleave_99PercentSucceed() => SoakAsync(checkMemory: false);

    [Fact]
    public Task Soak_ManagedMemoryAfterTheRun_IsWithinTenPercentOfAfterWarmUp() => SoakAsync(checkMemory: true);

    private static async Task SoakAsync(bool checkMemory)
    {
        int count = ReliabilityScale.Count(10_000, 100_000);
        // The warm-up fills the largest bounded structure the router keeps (the affinity map: every first turn is
        // remembered, up to MaxConversations), so that "after warm-up" is its steady size; a shorter one measured that
        // map filling up as growth (+20-120%).
        int warmUp = Math.Max(count / 10, new AffinityOptions().MaxConversations * 11 / 10);
        var wall = Stopwatch.StartNew();
        var unobserved = new ConcurrentQueue<Exception>();
        void OnUnobserved(object? sender, UnobservedTaskExceptionEventArgs e) => unobserved.Enqueue(e.Exception);
        TaskScheduler.UnobservedTaskException += OnUnobserved;
        try
        {
            var time = new VirtualTimeProvider();
            var random = new Random(2026);
            // Outages cover the whole timeline: both phases, and the quarter hour advanced after each before measuring memory.
            TimeSpan span = TimeSpan.FromSeconds((count + warmUp) / RequestsPerSecond) + TimeSpan.FromMinutes(40);
            SoakProvider[] providers =
            [
                .. Enumerable.Range(0, 4).Select(i => new SoakProvider(
                    "p" + i.ToString(CultureInfo.InvariantCulture), time, SoakProvider.Outages(random, span, 0.3, time.TimestampFrequency), 100 + i)),
            ];
            using RouterChatClient router = RouterFactory.Create(
                time,
                o =>
                {
                    o.Randomizer = SeededRandom.Create(11);
                    o.AttemptTimeout = TimeSpan.FromSeconds(10);
                    o.Streaming.MidStreamPolicy = MidStreamPolicy.Continue;
                    o.Hedging.Enabled = true;
                    o.Health.BreakDuration = TimeSpan.FromSeconds(10);
                    o.Health.MaxBreakDuration = TimeSpan.FromSeconds(60);
                    o.Health.ProbeEarlyWhenAllOpen = true; // with the default (wait up to 5 s, then fail) the full soak measured 92.8%
                    o.Health.WaitForRecoveryAfterFailures = true;
                    o.Health.ProbeTimeout = TimeSpan.FromSeconds(2);

                },
                null,
                [.. providers.Select(p => (p.Name, (IChatClient)p, (Action<EndpointOptions>?)null))]);

            // Warm-up: the same traffic, so that every buffer, pool and cache the router keeps reaches its steady size.
            var warm = new Tally(warmUp);
            var tally = new Tally(count); // allocated before the first measurement: only the router's growth counts
            await VirtualLoad.RunAsync(time, warmUp, Gap(random), i => OneAsync(router, i, warm, () => false)).WaitAsync(TimeSpan.FromMinutes(3), TestContext.Current.CancellationToken);
            time.Advance(TimeSpan.FromMinutes(15)); // past every timer the phase left armed (abandoned attempt timeouts)
            long afterWarmUp = MeasureMemory();

            await VirtualLoad.RunAsync(time, count, Gap(random), i => OneAsync(router, i, tally, () => Array.TrueForAll(providers, p => p.IsDown()))).WaitAsync(TimeSpan.FromMinutes(5), TestContext.Current.CancellationToken);
            time.Advance(TimeSpan.FromMinutes(15));
            long afterRun = MeasureMemory();
            wall.Stop();

            int lost = tally.Ends.Count(e => e == 0);
            int twice = tally.Ends.Count(e => e > 1);
            double success = tally.Successes / (double)count;
            double memoryGrowth = (afterRun - afterWarmUp) / (double)afterWarmUp;
            ReliabilityScale.Report(string.Create(CultureInfo.InvariantCulture,
                $"soak: {count} requests ({tally.Streamed} streamed) in {wall.Elapsed.TotalSeconds:0.0} s wall, {time.GetUtcNow() - new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)} virtual; " +
                $"success {success:P3} (every provider down at the start of {tally.AllDownAtStart / (double)count:P3} of requests), lost {lost}, twice {twice}, chunk violations {tally.ChunkViolations.Count}, unexpected {tally.Unexpected.Count}, " +
                $"failures by type {string.Join(", ", tally.Failures.Select(f => $"{f.Key}={f.Value}"))}; " +
                $"upstream calls {providers.Sum(p => p.Calls)}; memory after warm-up {afterWarmUp:N0} B, after run {afterRun:N0} B ({memoryGrowth:P2})"));

            Assert.Equal(0, lost);
            Assert.Equal(0, twice);
            Assert.Empty(tally.Unexpected);
            Assert.Empty(tally.ChunkViolations);
            Assert.True(success >= 0.99, $"success {success:P3} < 99.0%");
            Assert.True(!checkMemory || memoryGrowth <= 0.10, $"managed memory grew {memoryGrowth:P2} after warm-up ({afterWarmUp:N0} → {afterRun:N0} B)");
            Assert.True(wall.Elapsed < TimeSpan.FromMinutes(2), $"the soak took {wall.Elapsed}");
        }
        finally
        {
            UnobservedTaskExceptionGuard.CollectAll();
            TaskScheduler.UnobservedTaskException -= OnUnobserved;
        }

        Assert.Empty(unobserved);
    }

    private static Func<int, TimeSpan> Gap(Random random) =>
        _ => TimeSpan.FromSeconds(-Math.Log(1 - random.NextDouble()) / RequestsPerSecond);

    internal static long MeasureMemory()
    {
        for (int i = 0; i < 2; i++)
        {
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }

        return GC.GetTotalMemory(forceFullCollection: false);
    }

    private static async Task OneAsync(RouterChatClient router, int index, Tally tally, Func<bool> allDown)
    {
        if (allDown())
        {
            _ = Interlocked.Increment(ref tally.AllDownAtStart); // no router could serve it at once: the outage model's floor
        }

        bool streamed = index % 2 == 1;
        List<ChatMessage> messages = [new(ChatRole.User, "soak request " + index.ToString(CultureInfo.InvariantCulture))];
        bool ok = false;
        try
        {
            if (streamed)
            {
                _ = Interlocked.Increment(ref tally.Streamed);
                var chunks = new List<string>();
                await foreach (ChatResponseUpdate update in router.GetStreamingResponseAsync(messages).ConfigureAwait(false))
                {
                    if (!string.IsNullOrEmpty(update.Text))
                    {
                        chunks.Add(update.Text);
                    }
                }

                if (CheckChunks(chunks) is { } violation)
                {
                    tally.ChunkViolations.Enqueue($"request {index}: {violation}: {string.Concat(chunks)}");
                }

                ok = chunks.Count > 0;
            }
            else
            {
                ChatResponse response = await router.GetResponseAsync(messages).ConfigureAwait(false);
                ok = response.Text.StartsWith("answer from ", StringComparison.Ordinal);
            }
        }
        catch (StreamInterruptedException e)
        {
            tally.Fail(e);
            if (CheckChunks(e.PartialText.Split(']', StringSplitOptions.RemoveEmptyEntries).Select(c => c + "]").ToList()) is { } violation)
            {
                tally.ChunkViolations.Enqueue($"request {index} (interrupted): {violation}");
            }
        }
        catch (Exception e) when (e is AllEndpointsFailedException or NoEndpointAvailableException)
        {
            tally.Fail(e);
        }
#pragma warning disable CA1031 // Any other exception type is a finding: recorded and asserted on.
        catch (Exception e)
#pragma warning restore CA1031
        {
            tally.Unexpected.Enqueue(e);
        }
        finally
        {
            _ = Interlocked.Increment(ref tally.Ends[index]);
            if (ok)
            {
                _ = Interlocked.Increment(ref tally.Successes);
            }
        }
    }

    /// <summary>Chunks are [stream:seq]: each stream's chunks consecutive from where it starts, and a stream never resumes after another began.</summary>
    internal static string? CheckChunks(List<string> chunks)
    {
        var finished = new HashSet<int>();
        int current = -1;
        int expected = 0;
        bool first = true;
        foreach (string chunk in chunks)
        {
            if (chunk.Length < 5 || chunk[0] != '[' || chunk[^1] != ']')
            {
                return $"malformed chunk '{chunk}'";
            }

            string[] parts = chunk[1..^1].Split(':');
            int stream = int.Parse(parts[0], CultureInfo.InvariantCulture);
            int seq = int.Parse(parts[1], CultureInfo.InvariantCulture);
            if (stream != current)
            {
                if (!finished.Add(stream) && stream != current)
                {
                    return $"stream {stream} resumed after another stream (interleaved)";
                }

                if (current >= 0)
                {
                    _ = finished.Add(current);
                }

                if (first && seq != 0)
                {
                    return $"the first stream starts at chunk {seq}";
                }

                current = stream;
                expected = seq;
            }

            if (seq != expected)
            {
                return $"stream {stream}: chunk {seq} where {expected} was due (duplicated or lost)";
            }

            expected++;
            first = false;
        }

        return null;
    }

    private sealed class Tally(int count)
    {
        public readonly int[] Ends = new int[count];
        public readonly ConcurrentQueue<string> ChunkViolations = new();
        public readonly ConcurrentQueue<Exception> Unexpected = new();
        public readonly ConcurrentDictionary<string, int> Failures = new();
        public int Successes;
        public int AllDownAtStart;
        public int Streamed;

        public void Fail(Exception e) => Failures.AddOrUpdate(e.GetType().Name, 1, static (_, n) => n + 1);
    }
}
