using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Reflection;
using System.Text;
using Microsoft.Extensions.AI;

namespace LlmRouter.Tests.Telemetry;

public sealed class RouterTelemetryTests : IDisposable
{
    private readonly RouterTelemetry _telemetry = new(meterFactory: null);
    private readonly MetricRecorder _metrics;
    private readonly ActivityRecorder _activities;

    public RouterTelemetryTests()
    {
        _metrics = new MetricRecorder(_telemetry.Meter);
        _activities = new ActivityRecorder(_telemetry.ActivitySource);
    }

    public void Dispose()
    {
        _activities.Dispose();
        _metrics.Dispose();
        _telemetry.Dispose();
    }

    [Fact]
    public void Constructor_WithoutFactory_NamesMeterAndSourceWithPackageVersion()
    {
        string informational = typeof(RouterTelemetry).Assembly
            .GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;

        Assert.Equal("LlmRouter", RouterTelemetry.Name);
        Assert.Equal(RouterTelemetry.Name, _telemetry.Meter.Name);
        Assert.Equal(RouterTelemetry.Name, _telemetry.ActivitySource.Name);
        Assert.False(string.IsNullOrEmpty(_telemetry.Meter.Version));
        Assert.DoesNotContain('+', _telemetry.Meter.Version!);
        Assert.StartsWith(_telemetry.Meter.Version!, informational, StringComparison.Ordinal);
        Assert.Equal(_telemetry.Meter.Version, _telemetry.ActivitySource.Version);
    }

    [Fact]
    public void Constructor_WithFactory_CreatesMeterThroughFactory()
    {
        using var factory = new RecordingMeterFactory();
        using var telemetry = new RouterTelemetry(factory);

        MeterOptions options = Assert.Single(factory.Created);
        Assert.Equal(RouterTelemetry.Name, options.Name);
        Assert.Equal(_telemetry.Meter.Version, options.Version);
        Assert.Same(factory.Meters[0], telemetry.Meter);
    }

    [Fact]
    public void Constructor_Always_PublishesInstrumentsWithUcumUnits()
    {
        _telemetry.ObserveHealth(static () => []);

        Assert.Equal("{attempt}", _metrics.UnitOf("llmrouter.attempts"));
        Assert.Equal("s", _metrics.UnitOf("llmrouter.attempt.duration"));
        Assert.Equal("s", _metrics.UnitOf("llmrouter.time_to_first_token"));
        Assert.Equal("{token}", _metrics.UnitOf("gen_ai.client.token.usage"));
        Assert.Equal("{request}", _metrics.UnitOf("llmrouter.requests"));
        Assert.Equal("{request}", _metrics.UnitOf("llmrouter.failovers"));
        Assert.Equal("s", _metrics.UnitOf("gen_ai.client.operation.duration"));
        Assert.Equal("{state}", _metrics.UnitOf("llmrouter.endpoint.health"));
    }

    [Fact]
    public void Dispose_CreatedWithoutFactory_DisposesMeterAndSource()
    {
        Assert.Empty(_metrics.Completed);

        _telemetry.Dispose();

        Assert.Contains("llmrouter.attempts", _metrics.Completed);
        Assert.Null(_telemetry.StartRequest(null, streaming: false));
    }

    [Fact]
    public void Dispose_CreatedWithFactory_LeavesMeterToFactory()
    {
        using var factory = new RecordingMeterFactory();
        var telemetry = new RouterTelemetry(factory);
        using var metrics = new MetricRecorder(telemetry.Meter);

        telemetry.Dispose();
        Assert.Empty(metrics.Completed);

        factory.Dispose();
        Assert.Contains("llmrouter.attempts", metrics.Completed);
    }

    [Fact]
    public void StartRequest_WithModel_StartsClientSpanNamedAfterModel()
    {
        using Activity? request = _telemetry.StartRequest(new ChatOptions { ModelId = "gpt-4o-mini" }, streaming: true);

        Assert.NotNull(request);
        Assert.Same(_telemetry.ActivitySource, request.Source);
        Assert.Equal(ActivityKind.Client, request.Kind);
        Assert.Equal("chat gpt-4o-mini", request.DisplayName);
        Assert.Equal("chat", request.GetTagItem("gen_ai.operation.name"));
        Assert.Equal("gpt-4o-mini", request.GetTagItem("gen_ai.request.model"));
        Assert.Equal(true, request.GetTagItem("llmrouter.streaming"));
    }

    [Fact]
    public void StartRequest_WithoutModel_StartsSpanNamedChat()
    {
        using Activity? request = _telemetry.StartRequest(new ChatOptions(), streaming: false);

        Assert.NotNull(request);
        Assert.Equal("chat", request.DisplayName);
        Assert.Null(request.GetTagItem("gen_ai.request.model"));
        Assert.Equal(false, request.GetTagItem("llmrouter.streaming"));
    }

    [Fact]
    public void StartAttempt_UnderRequest_StartsInternalChildSpan()
    {
        using Activity? request = _telemetry.StartRequest(null, streaming: false);
        using Activity? attempt = _telemetry.StartAttempt("openai", 3, probe: false, hedge: false);

        Assert.NotNull(request);
        Assert.NotNull(attempt);
        Assert.Same(request, attempt.Parent);
        Assert.Equal(request.TraceId, attempt.TraceId);
        Assert.Equal(ActivityKind.Internal, attempt.Kind);
        Assert.Equal("llmrouter.attempt openai", attempt.DisplayName);
        Assert.Equal("openai", attempt.GetTagItem("llmrouter.endpoint"));
        Assert.Equal(3, attempt.GetTagItem("llmrouter.attempt.number"));
        Assert.Null(attempt.GetTagItem("llmrouter.attempt.probe"));
        Assert.Null(attempt.GetTagItem("llmrouter.attempt.hedge"));
    }

    [Fact]
    public void StartAttempt_ProbeAndHedge_TagsBoth()
    {
        using Activity? attempt = _telemetry.StartAttempt("local", 2, probe: true, hedge: true);

        Assert.NotNull(attempt);
        Assert.Equal(true, attempt.GetTagItem("llmrouter.attempt.probe"));
        Assert.Equal(true, attempt.GetTagItem("llmrouter.attempt.hedge"));
    }

    [Fact]
    public void StartAttempt_WhileAnotherAttemptIsCurrent_ParentsToRequest()
    {
        using Activity? request = _telemetry.StartRequest(null, streaming: false);
        Activity? first = _telemetry.StartAttempt("openai", 1, probe: false, hedge: false);
        Assert.Same(first, Activity.Current);

        Activity? hedge = _telemetry.StartAttempt("local", 2, probe: false, hedge: true);

        Assert.NotNull(first);
        Assert.NotNull(hedge);
        Assert.Same(request, first.Parent);
        Assert.Same(request, hedge.Parent);

        _telemetry.AttemptEnded(hedge, "local", failure: null, TimeSpan.FromSeconds(1), timeToFirstToken: null, usage: null);
        Assert.Same(request, Activity.Current);

        _telemetry.AttemptEnded(first, "openai", FailureKind.Canceled, TimeSpan.FromSeconds(1), timeToFirstToken: null, usage: null);
        Assert.Same(request, Activity.Current);
    }

    [Fact]
    public void AttemptEnded_Success_RecordsMetricsAndLeavesStatusUnset()
    {
        Activity? attempt = _telemetry.StartAttempt("openai", 1, probe: false, hedge: false);
        var usage = new UsageDetails { InputTokenCount = 120, OutputTokenCount = 30 };

        _telemetry.AttemptEnded(attempt, "openai", failure: null, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(0.25), usage);

        AssertSingle(_metrics.Of("llmrouter.attempts"), 1, ("llmrouter.endpoint", "openai"), ("llmrouter.outcome", "success"));
        AssertSingle(_metrics.Of("llmrouter.attempt.duration"), 1.5, ("llmrouter.endpoint", "openai"), ("llmrouter.outcome", "success"));
        AssertSingle(_metrics.Of("llmrouter.time_to_first_token"), 0.25, ("llmrouter.endpoint", "openai"));
        IReadOnlyList<Recorded> tokens = _metrics.Of("gen_ai.client.token.usage");
        Assert.Equal(2, tokens.Count);
        AssertSingle(Where(tokens, "gen_ai.token.type", "input"), 120,
            ("gen_ai.token.type", "input"), ("gen_ai.operation.name", "chat"), ("llmrouter.endpoint", "openai"));
        AssertSingle(Where(tokens, "gen_ai.token.type", "output"), 30,
            ("gen_ai.token.type", "output"), ("gen_ai.operation.name", "chat"), ("llmrouter.endpoint", "openai"));

        Activity stopped = Assert.Single(_activities.Stopped);
        Assert.Same(attempt, stopped);
        Assert.True(stopped.IsStopped);
        Assert.Equal("success", stopped.GetTagItem("llmrouter.outcome"));
        Assert.Equal(120L, stopped.GetTagItem("gen_ai.usage.input_tokens"));
        Assert.Equal(30L, stopped.GetTagItem("gen_ai.usage.output_tokens"));
        Assert.Null(stopped.GetTagItem("error.type"));
        Assert.Equal(ActivityStatusCode.Unset, stopped.Status);
    }

    [Fact]
    public void AttemptEnded_WithoutFirstTokenOrUsage_RecordsNeither()
    {
        Activity? attempt = _telemetry.StartAttempt("openai", 1, probe: false, hedge: false);

        _telemetry.AttemptEnded(attempt, "openai", failure: null, TimeSpan.FromSeconds(1), timeToFirstToken: null, usage: new UsageDetails());

        Assert.Single(_metrics.Of("llmrouter.attempts"));
        Assert.Empty(_metrics.Of("llmrouter.time_to_first_token"));
        Assert.Empty(_metrics.Of("gen_ai.client.token.usage"));
        Assert.NotNull(attempt);
        Assert.Null(attempt.GetTagItem("gen_ai.usage.input_tokens"));
        Assert.Null(attempt.GetTagItem("gen_ai.usage.output_tokens"));
    }

    [Fact]
    public void AttemptEnded_OnlyInputTokensKnown_RecordsOnlyInput()
    {
        _telemetry.AttemptEnded(null, "local", failure: null, TimeSpan.FromSeconds(1), timeToFirstToken: null, new UsageDetails { InputTokenCount = 7 });

        Recorded tokens = Assert.Single(_metrics.Of("gen_ai.client.token.usage"));
        Assert.Equal(7, tokens.Value);
        Assert.Equal("input", tokens.Tags["gen_ai.token.type"]);
    }

    [Fact]
    public void AttemptEnded_NullActivity_StillRecordsMetrics()
    {
        _telemetry.AttemptEnded(null, "local", FailureKind.Timeout, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(2), new UsageDetails { OutputTokenCount = 5 });

        AssertSingle(_metrics.Of("llmrouter.attempts"), 1, ("llmrouter.endpoint", "local"), ("llmrouter.outcome", "timeout"));
        AssertSingle(_metrics.Of("llmrouter.attempt.duration"), 30, ("llmrouter.endpoint", "local"), ("llmrouter.outcome", "timeout"));
        Assert.Single(_metrics.Of("llmrouter.time_to_first_token"));
        Assert.Single(_metrics.Of("gen_ai.client.token.usage"));
        Assert.Empty(_activities.Stopped);
    }

    [Theory]
    [InlineData(FailureKind.RateLimited, "rate_limited")]
    [InlineData(FailureKind.Transient, "transient")]
    [InlineData(FailureKind.Timeout, "timeout")]
    [InlineData(FailureKind.ContentFilter, "content_filter")]
    [InlineData(FailureKind.ContextLength, "context_length")]
    [InlineData(FailureKind.Auth, "auth")]
    [InlineData(FailureKind.BadRequest, "bad_request")]
    [InlineData(FailureKind.Canceled, "canceled")]
    public void AttemptEnded_Failure_TagsOutcomeAndMarksSpanAsError(FailureKind kind, string outcome)
    {
        Activity? attempt = _telemetry.StartAttempt("openai", 1, probe: false, hedge: false);

        _telemetry.AttemptEnded(attempt, "openai", kind, TimeSpan.FromSeconds(2), timeToFirstToken: null, usage: null);

        AssertSingle(_metrics.Of("llmrouter.attempts"), 1, ("llmrouter.endpoint", "openai"), ("llmrouter.outcome", outcome));
        AssertSingle(_metrics.Of("llmrouter.attempt.duration"), 2, ("llmrouter.endpoint", "openai"), ("llmrouter.outcome", outcome));
        Activity stopped = Assert.Single(_activities.Stopped);
        Assert.Equal(outcome, stopped.GetTagItem("llmrouter.outcome"));
        Assert.Equal(outcome, stopped.GetTagItem("error.type"));
        Assert.Equal(ActivityStatusCode.Error, stopped.Status);
        Assert.Equal(outcome, stopped.StatusDescription);
    }

    [Fact]
    public void AttemptEnded_EveryFailureKind_HasItsOwnSnakeCaseOutcome()
    {
        // Guards the outcome table against a FailureKind added later: it would otherwise be reported as "error".
        foreach (FailureKind kind in Enum.GetValues<FailureKind>())
        {
            _telemetry.AttemptEnded(null, "e", kind, TimeSpan.Zero, timeToFirstToken: null, usage: null);
        }

        IReadOnlyList<Recorded> attempts = _metrics.Of("llmrouter.attempts");
        FailureKind[] kinds = Enum.GetValues<FailureKind>();
        Assert.Equal(kinds.Length, attempts.Count);
        for (int i = 0; i < kinds.Length; i++)
        {
            Assert.Equal(SnakeCase(kinds[i].ToString()), attempts[i].Tags["llmrouter.outcome"]);
        }
    }

    [Fact]
    public void RequestEnded_FailedOverSuccess_CountsRequestAndFailover()
    {
        Activity? request = _telemetry.StartRequest(null, streaming: false);
        var info = new RoutingInfo("local",
        [
            new RoutingAttempt("openai", FailureKind.Transient, TimeSpan.FromSeconds(1), exception: null, retryAfter: null),
            new RoutingAttempt("local", failure: null, TimeSpan.FromSeconds(2), exception: null, retryAfter: null),
        ]);

        _telemetry.RequestEnded(request, info, error: null, TimeSpan.FromSeconds(3.5));

        AssertSingle(_metrics.Of("llmrouter.requests"), 1, ("llmrouter.outcome", "success"), ("llmrouter.endpoint", "local"));
        AssertSingle(_metrics.Of("llmrouter.failovers"), 1, ("llmrouter.endpoint", "local"));
        AssertSingle(_metrics.Of("gen_ai.client.operation.duration"), 3.5, ("gen_ai.operation.name", "chat"));
        Activity stopped = Assert.Single(_activities.Stopped);
        Assert.Same(request, stopped);
        Assert.Equal("local", stopped.GetTagItem("llmrouter.endpoint"));
        Assert.Equal(2, stopped.GetTagItem("llmrouter.attempts"));
        Assert.Equal(true, stopped.GetTagItem("llmrouter.failed_over"));
        Assert.Null(stopped.GetTagItem("error.type"));
        Assert.Equal(ActivityStatusCode.Unset, stopped.Status);
    }

    [Fact]
    public void RequestEnded_ServedByFirstEndpoint_DoesNotCountFailover()
    {
        Activity? request = _telemetry.StartRequest(null, streaming: false);
        var info = new RoutingInfo("openai",
        [
            new RoutingAttempt("openai", FailureKind.RateLimited, TimeSpan.FromSeconds(1), exception: null, retryAfter: null),
            new RoutingAttempt("openai", failure: null, TimeSpan.FromSeconds(1), exception: null, retryAfter: null),
        ]);

        _telemetry.RequestEnded(request, info, error: null, TimeSpan.FromSeconds(2));

        Assert.Single(_metrics.Of("llmrouter.requests"));
        Assert.Empty(_metrics.Of("llmrouter.failovers"));
        Activity stopped = Assert.Single(_activities.Stopped);
        Assert.Equal(false, stopped.GetTagItem("llmrouter.failed_over"));
    }

    [Theory]
    [InlineData(typeof(OperationCanceledException), "canceled")]
    [InlineData(typeof(TaskCanceledException), "canceled")]
    [InlineData(typeof(AllEndpointsFailedException), "all_endpoints_failed")]
    [InlineData(typeof(NoEndpointAvailableException), "no_endpoint_available")]
    [InlineData(typeof(StreamInterruptedException), "stream_interrupted")]
    [InlineData(typeof(InvalidOperationException), "error")]
    public void RequestEnded_Failure_TagsOutcomeAndMarksSpanAsError(Type exceptionType, string outcome)
    {
        Activity? request = _telemetry.StartRequest(null, streaming: false);
        var error = (Exception)Activator.CreateInstance(exceptionType)!;

        _telemetry.RequestEnded(request, info: null, error, TimeSpan.FromSeconds(4));

        AssertSingle(_metrics.Of("llmrouter.requests"), 1, ("llmrouter.outcome", outcome));
        Assert.Empty(_metrics.Of("llmrouter.failovers"));
        AssertSingle(_metrics.Of("gen_ai.client.operation.duration"), 4, ("gen_ai.operation.name", "chat"), ("error.type", outcome));
        Activity stopped = Assert.Single(_activities.Stopped);
        Assert.Null(stopped.GetTagItem("llmrouter.endpoint"));
        Assert.Equal(outcome, stopped.GetTagItem("error.type"));
        Assert.Equal(ActivityStatusCode.Error, stopped.Status);
        Assert.Equal(outcome, stopped.StatusDescription);
    }

    [Fact]
    public void RequestEnded_AllEndpointsFailed_TagsAttemptCountFromException()
    {
        Activity? request = _telemetry.StartRequest(null, streaming: false);
        var error = new AllEndpointsFailedException(
        [
            new RoutingAttempt("openai", FailureKind.Auth, TimeSpan.FromSeconds(1), exception: null, retryAfter: null),
            new RoutingAttempt("local", FailureKind.Timeout, TimeSpan.FromSeconds(1), exception: null, retryAfter: null),
            new RoutingAttempt("local", FailureKind.Transient, TimeSpan.FromSeconds(1), exception: null, retryAfter: null),
        ]);

        _telemetry.RequestEnded(request, info: null, error, TimeSpan.FromSeconds(3));

        Activity stopped = Assert.Single(_activities.Stopped);
        Assert.Equal(3, stopped.GetTagItem("llmrouter.attempts"));
    }

    [Fact]
    public void RequestEnded_NullActivity_StillRecordsMetrics()
    {
        _telemetry.RequestEnded(null, info: null, new NoEndpointAvailableException(), TimeSpan.Zero);

        AssertSingle(_metrics.Of("llmrouter.requests"), 1, ("llmrouter.outcome", "no_endpoint_available"));
        Assert.Single(_metrics.Of("gen_ai.client.operation.duration"));
    }

    [Fact]
    public void ObserveHealth_OnEachCollection_ReportsEveryEndpointsCurrentState()
    {
        HealthState openAi = HealthState.Healthy;
        _telemetry.ObserveHealth(() => [("openai", openAi), ("local", HealthState.Degraded), ("backup", HealthState.HalfOpen)]);

        _metrics.RecordObservable();
        openAi = HealthState.Open;
        _metrics.RecordObservable();

        IReadOnlyList<Recorded> health = _metrics.Of("llmrouter.endpoint.health");
        Assert.Equal(6, health.Count);
        Assert.Equal([0d, 1d, 3d, 2d, 1d, 3d], health.Select(static m => m.Value));
        Assert.Equal(["openai", "local", "backup", "openai", "local", "backup"], health.Select(static m => m.Tags["llmrouter.endpoint"]));
        Assert.All(health, static m => Assert.Single(m.Tags));
    }

    [Fact]
    public void ObserveHealth_CalledTwice_Throws()
    {
        _telemetry.ObserveHealth(static () => []);

        Assert.Throws<InvalidOperationException>(() => _telemetry.ObserveHealth(static () => []));
    }

    private static List<Recorded> Where(IReadOnlyList<Recorded> measurements, string tag, string value) =>
        measurements.Where(m => Equals(m.Tags.GetValueOrDefault(tag), value)).ToList();

    private static void AssertSingle(IReadOnlyList<Recorded> measurements, double value, params (string Key, object? Value)[] tags)
    {
        Recorded measurement = Assert.Single(measurements);
        Assert.Equal(value, measurement.Value, precision: 9);
        Assert.Equal(tags.ToDictionary(t => t.Key, t => t.Value), measurement.Tags);
    }

    private static string SnakeCase(string pascal)
    {
        var text = new StringBuilder();
        foreach (char c in pascal)
        {
            if (char.IsUpper(c) && text.Length > 0)
            {
                text.Append('_');
            }

            text.Append(char.ToLowerInvariant(c));
        }

        return text.ToString();
    }

    private sealed record Recorded(string Instrument, double Value, Dictionary<string, object?> Tags);

    /// <summary>Collects the measurements of one <see cref="Meter"/> instance, so parallel tests never see each other's.</summary>
    private sealed class MetricRecorder : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly Lock _gate = new();
        private readonly List<Recorded> _measurements = [];
        private readonly Dictionary<string, string?> _units = [];

        public MetricRecorder(Meter meter)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (ReferenceEquals(instrument.Meter, meter))
                {
                    lock (_gate)
                    {
                        _units[instrument.Name] = instrument.Unit;
                    }

                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.MeasurementsCompleted = (instrument, _) =>
            {
                lock (_gate)
                {
                    Completed.Add(instrument.Name);
                }
            };
            _listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => Add(instrument, value, tags));
            _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Add(instrument, value, tags));
            _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Add(instrument, value, tags));
            _listener.Start();
        }

        public List<string> Completed { get; } = [];

        public List<Recorded> Of(string instrument)
        {
            lock (_gate)
            {
                return _measurements.Where(m => m.Instrument == instrument).ToList();
            }
        }

        public string? UnitOf(string instrument)
        {
            lock (_gate)
            {
                Assert.True(_units.TryGetValue(instrument, out string? unit), $"Instrument {instrument} was not published.");
                return unit;
            }
        }

        public void RecordObservable() => _listener.RecordObservableInstruments();

        public void Dispose() => _listener.Dispose();

        private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var copy = new Dictionary<string, object?>();
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                copy.Add(tag.Key, tag.Value);
            }

            lock (_gate)
            {
                _measurements.Add(new Recorded(instrument.Name, value, copy));
            }
        }
    }

    /// <summary>Samples every span of one <see cref="ActivitySource"/> instance and keeps the stopped ones.</summary>
    private sealed class ActivityRecorder : IDisposable
    {
        private readonly ActivityListener _listener;
        private readonly Lock _gate = new();
        private readonly List<Activity> _stopped = [];

        public ActivityRecorder(ActivitySource source)
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = s => ReferenceEquals(s, source),
                Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = a =>
                {
                    if (ReferenceEquals(a.Source, source))
                    {
                        lock (_gate)
                        {
                            _stopped.Add(a);
                        }
                    }
                },
            };
            ActivitySource.AddActivityListener(_listener);
        }

        public IReadOnlyList<Activity> Stopped
        {
            get
            {
                lock (_gate)
                {
                    return [.. _stopped];
                }
            }
        }

        public void Dispose() => _listener.Dispose();
    }

    private sealed class RecordingMeterFactory : IMeterFactory
    {
        public List<MeterOptions> Created { get; } = [];

        public List<Meter> Meters { get; } = [];

        public Meter Create(MeterOptions options)
        {
            Created.Add(options);
            var meter = new Meter(options);
            Meters.Add(meter);
            return meter;
        }

        public void Dispose()
        {
            foreach (Meter meter in Meters)
            {
                meter.Dispose();
            }
        }
    }
}
