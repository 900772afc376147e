using BenchmarkDotNet.Attributes;

namespace LlmRouter.Benchmarks;

/// <summary>The metrics stage: recording one attempt, and rebuilding a snapshot from a full ring.</summary>
[MemoryDiagnoser]
public class MetricsBenchmarks
{
    private readonly EndpointMetrics _metrics = new("bench", 1024, DateTimeOffset.UnixEpoch);
    private readonly MetricsOptions _options = new();
    private AttemptSample _sample;
    private long _now;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(7);
        _now = TimeProvider.System.GetTimestamp();
        for (int i = 0; i < 1024; i++)
        {
            _metrics.Record(new AttemptSample
            {
                Timestamp = _now,
                LatencyMs = (float)(100 + (random.NextDouble() * 900)),
                TimeToFirstTokenMs = (float)(20 + (random.NextDouble() * 80)),
                InputTokens = 500,
                OutputTokens = 200,
                Cost = 0.001f,
                Outcome = (byte)(random.NextDouble() < 0.02 ? 2 : 0),
            });
        }

        _sample = new AttemptSample { Timestamp = _now, LatencyMs = 250, TimeToFirstTokenMs = float.NaN, InputTokens = 500, OutputTokens = 200, Cost = 0.001f };
    }

    [Benchmark]
    public void RecordSample() => _metrics.Record(_sample);

    [Benchmark]
    public EndpointSnapshot BuildSnapshotOfFullRing() =>
        _metrics.Build("bench", _now, DateTimeOffset.UnixEpoch, HealthState.Healthy, _options, TimeProvider.System.TimestampFrequency);
}
