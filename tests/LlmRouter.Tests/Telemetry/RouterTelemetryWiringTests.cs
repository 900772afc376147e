using System.Diagnostics;
using System.Diagnostics.Metrics;
using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;

namespace LlmRouter.Tests.Telemetry;

/// <summary>The router emits its spans and instruments from real calls, not only when its telemetry type is driven directly.</summary>
public sealed class RouterTelemetryWiringTests
{
    private readonly ObservableFakeTimeProvider _time = new();

    [Fact]
    public async Task Router_FailoverCall_EmitsRequestSpanWithAttemptChildrenAndDecisionTags()
    {
        var a = new ScriptedChatClient("a").Throws(RouterFactory.Http(401));
        var b = new ScriptedChatClient("b").Answers("from b");
        using RouterChatClient router = RouterFactory.Create(_time, null, a, b);
        var stopped = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => ReferenceEquals(source, router.Telemetry.ActivitySource),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity => { lock (stopped) { stopped.Add(activity); } },
        };
        ActivitySource.AddActivityListener(listener);

        _ = await router.GetResponseAsync(RouterFactory.Hello(), new ChatOptions { ModelId = "gpt-4o" }, TestContext.Current.CancellationToken);

        Activity request = Assert.Single(stopped, x => x.Kind == ActivityKind.Client);
        Assert.Equal("chat gpt-4o", request.DisplayName);
        Assert.Equal("b", request.GetTagItem("llmrouter.endpoint"));
        Assert.Equal(true, request.GetTagItem("llmrouter.failed_over"));
        Assert.Contains("a: ", (string)request.GetTagItem("llmrouter.decision.reason")!, StringComparison.Ordinal);
        Assert.Contains("b [Healthy]", (string)request.GetTagItem("llmrouter.decision.candidates")!, StringComparison.Ordinal);

        Activity[] attempts = [.. stopped.Where(x => x.Kind == ActivityKind.Internal)];
        Assert.Equal(["llmrouter.attempt a", "llmrouter.attempt b"], attempts.Select(x => x.DisplayName));
        Assert.All(attempts, x => Assert.Equal(request.SpanId, x.ParentSpanId));
        Assert.Equal("auth", attempts[0].GetTagItem("error.type"));
        Assert.Equal(ActivityStatusCode.Error, attempts[0].Status);
    }

    [Fact]
    public async Task Router_Calls_RecordAttemptAndRequestInstrumentsWithEndpointAndOutcome()
    {
        var a = new ScriptedChatClient("a").Throws(RouterFactory.Http(401));
        var b = new ScriptedChatClient("b").Answers("from b", always: true);
        using RouterChatClient router = RouterFactory.Create(_time, null, a, b);
        var measurements = new List<(string Instrument, double Value, Dictionary<string, object?> Tags)>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument.Meter, router.Telemetry.Meter))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Add(instrument, value, tags));
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Add(instrument, value, tags));
        listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => Add(instrument, value, tags));
        listener.Start();

        _ = await router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken);
        _ = await router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken);
        listener.RecordObservableInstruments();

        Assert.Contains(measurements, m => m.Instrument == "llmrouter.attempts" && Equals(m.Tags["llmrouter.endpoint"], "a") && Equals(m.Tags["llmrouter.outcome"], "auth"));
        Assert.Equal(2, measurements.Count(m => m.Instrument == "llmrouter.attempts" && Equals(m.Tags["llmrouter.endpoint"], "b") && Equals(m.Tags["llmrouter.outcome"], "success")));
        Assert.Equal(2, measurements.Count(m => m.Instrument == "llmrouter.requests" && Equals(m.Tags["llmrouter.outcome"], "success")));
        Assert.Single(measurements, m => m.Instrument == "llmrouter.failovers");
        Assert.Contains(measurements, m => m.Instrument == "gen_ai.client.token.usage" && Equals(m.Tags["gen_ai.token.type"], "input") && m.Value == 10);
        Assert.Contains(measurements, m => m.Instrument == "llmrouter.endpoint.health" && Equals(m.Tags["llmrouter.endpoint"], "a") && m.Value == (int)HealthState.Open);

        void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var copy = new Dictionary<string, object?>();
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                copy[tag.Key] = tag.Value;
            }

            lock (measurements)
            {
                measurements.Add((instrument.Name, value, copy));
            }
        }
    }

    [Fact]
    public async Task Router_InterruptedStream_EndsTheRequestSpanAsStreamInterrupted()
    {
        var a = new ScriptedChatClient("a").Then(ScriptedChatClient.ScriptStep.StreamFailingAfter(1, RouterFactory.Http(502), "Hel", "lo"));
        using RouterChatClient router = RouterFactory.Create(_time, null, a);
        var stopped = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => ReferenceEquals(source, router.Telemetry.ActivitySource),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity => { lock (stopped) { stopped.Add(activity); } },
        };
        ActivitySource.AddActivityListener(listener);

        await Assert.ThrowsAsync<StreamInterruptedException>(async () =>
        {
            await foreach (ChatResponseUpdate update in router.GetStreamingResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken))
            {
                Assert.NotNull(update);
            }
        });

        Activity request = Assert.Single(stopped, x => x.Kind == ActivityKind.Client);
        Assert.Equal("stream_interrupted", request.GetTagItem("error.type"));
        Assert.Equal(ActivityStatusCode.Error, request.Status);
    }
}
