using System.ClientModel;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace LlmRouter.Tests.Reliability;

/// <summary>
/// A canary API key, and the prompt and response text, placed where providers put them (exception messages, the
/// request URI's <c>?key=</c>, response headers, an in-band error) never reach a log line, a span or metric tag, or the
/// message of an exception the router itself creates.
/// </summary>
[Collection(IsolatedReliabilityDefinition.Name)] // listens to every ActivitySource and Meter named LlmRouter
public sealed class SecretLeakTests
{
    private const string Key = "sk-CANARY-9f8e7d6c5b4a";
    private const string Prompt = "PROMPT-CANARY-secret-plan";
    private const string Answer = "ANSWER-CANARY-private-reply";

    private static Exception[] ProviderFailures() =>
    [
        new HttpRequestException($"Response status code does not indicate success: 500 for https://api.example.com/v1/chat?key={Key} ({Prompt})", null, System.Net.HttpStatusCode.InternalServerError),
        new ClientResultException($"HTTP 503 (server_error) key={Key}", new FakePipelineResponse(503, $"{{\"error\":\"{Prompt}\"}}", ("x-api-key", Key), ("set-cookie", "k=" + Key))),
        new IOException($"connection to https://api.example.com/v1/chat?key={Key} was reset"),
    ];

    [Fact]
    public Task Failures_CanaryKeyAndPrompt_NeverInLogsSpansMetricTagsOrOurExceptions_WithLogs() => RunAsync(checkLogs: true);

    [Fact]
    public Task Failures_CanaryKeyAndPrompt_NeverInSpansMetricTagsOrOurExceptions() => RunAsync(checkLogs: false);

    private static async Task RunAsync(bool checkLogs)
    {
        using var capture = new TelemetryCapture();
        var logs = new FakeLogCollector();
        using var loggerFactory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(new FakeLoggerProvider(logs)));
        var time = new ObservableFakeTimeProvider();
        Exception[] failures = ProviderFailures();
        var a = new ScriptedChatClient("a");
        var b = new ScriptedChatClient("b");
        var c = new ScriptedChatClient("c");
        foreach (Exception failure in failures)
        {
            _ = a.Throws(failure).Throws(failure);
            _ = b.Throws(failure);
        }

        _ = c.Throws(failures[0]).Answers(Answer, always: true);
        var options = new LlmRouterOptions { Randomizer = () => 0.5 };
        options.Strategy = RoutingStrategy.Ordered;
        options.Retry.BudgetMinPerSecond = 1000;
        options.Health.FailureThreshold = 1000;
        options.Streaming.MidStreamPolicy = MidStreamPolicy.Throw;
        var endpoints = new List<RouterEndpoint>();
        foreach (ScriptedChatClient client in new[] { a, b, c })
        {
            options.Endpoints[client.Name] = new EndpointOptions();
            endpoints.Add(new RouterEndpoint(client.Name, client, options.Endpoints[client.Name], endpoints.Count, ownsClient: false));
        }

        using var router = new RouterChatClient(endpoints, options, time, null, loggerFactory);
        var ours = new List<Exception>();
        List<ChatMessage> messages = [new(ChatRole.User, Prompt)];
        for (int i = 0; i < 4; i++)
        {
            Task<ChatResponse> call = router.GetResponseAsync(messages, cancellationToken: TestContext.Current.CancellationToken);
            while (!call.IsCompleted)
            {
                time.Advance(TimeSpan.FromSeconds(1));
                await Task.Yield();
            }

            try
            {
                ChatResponse response = await call;
                Assert.Equal(Answer, response.Text);
            }
            catch (LlmRouterException e)
            {
                ours.Add(e);
            }
        }

        // An in-band error and a mid-stream break whose messages carry the key.
        var streaming = new ScriptedChatClient("s");
        _ = streaming.Then(ScriptedChatClient.ScriptStep.StreamFailingAfter(1, new IOException($"reset ?key={Key}"), Answer, Answer));
        var streamOptions = new LlmRouterOptions { Randomizer = () => 0.5 };
        streamOptions.Retry.MaxRetriesPerEndpoint = 0;
        streamOptions.Endpoints["s"] = new EndpointOptions();
        using var streamRouter = new RouterChatClient([new RouterEndpoint("s", streaming, streamOptions.Endpoints["s"], 0, ownsClient: false)], streamOptions, time, null, loggerFactory);
        try
        {
            await foreach (ChatResponseUpdate update in streamRouter.GetStreamingResponseAsync(messages, cancellationToken: TestContext.Current.CancellationToken))
            {
                _ = update;
            }
        }
        catch (LlmRouterException e)
        {
            ours.Add(e);
        }

        capture.Flush();
        Assert.NotEmpty(ours);
        foreach (Exception e in ours)
        {
            // The router's own message, and the messages of the router-made wrappers inside it (timeouts), not the
            // provider's exceptions it carries in Attempts and InnerException.
            Assert.DoesNotContain(Key, e.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(Prompt, e.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(Answer, e.Message, StringComparison.Ordinal);
        }

        foreach (string tag in capture.Tags)
        {
            Assert.DoesNotContain(Key, tag, StringComparison.Ordinal);
            Assert.DoesNotContain(Prompt, tag, StringComparison.Ordinal);
            Assert.DoesNotContain(Answer, tag, StringComparison.Ordinal);
        }

        Assert.NotEmpty(capture.Tags);
        Assert.NotEmpty(logs.GetSnapshot());
        if (checkLogs)
        {
            foreach (FakeLogRecord record in logs.GetSnapshot())
            {
                // What a console or file logger would print: the message and the exception with it.
                string line = record.Message + " " + record.Exception;
                Assert.DoesNotContain(Key, line, StringComparison.Ordinal);
                Assert.DoesNotContain(Prompt, line, StringComparison.Ordinal);
                Assert.DoesNotContain(Answer, line, StringComparison.Ordinal);
            }
        }
        else
        {
            foreach (FakeLogRecord record in logs.GetSnapshot())
            {
                Assert.DoesNotContain(Key, record.Message, StringComparison.Ordinal);
                Assert.DoesNotContain(Prompt, record.Message, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public async Task InBandError_OurExceptionsMessage_DoesNotCopyTheProvidersText()
    {
        var time = new ObservableFakeTimeProvider();
        var streaming = new InBandClient();
        var options = new LlmRouterOptions { Randomizer = () => 0.5 };
        options.Retry.MaxRetriesPerEndpoint = 0; // the fake clock does not move: no backoff to wait out
        options.Endpoints["s"] = new EndpointOptions();
        using var router = new RouterChatClient([new RouterEndpoint("s", streaming, options.Endpoints["s"], 0, ownsClient: false)], options, time);

        AllEndpointsFailedException e = await Assert.ThrowsAsync<AllEndpointsFailedException>(async () =>
        {
            await foreach (ChatResponseUpdate update in router.GetStreamingResponseAsync([new(ChatRole.User, Prompt)], cancellationToken: TestContext.Current.CancellationToken))
            {
                _ = update;
            }
        });

        InBandErrorException inBand = Assert.IsType<InBandErrorException>(e.Attempts[^1].Exception);
        Assert.DoesNotContain(Key, inBand.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Prompt, inBand.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Key, e.Message, StringComparison.Ordinal);
    }

    private sealed class InBandClient : IChatClient
    {
        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            await Task.Yield();
            yield return new ChatResponseUpdate { Role = ChatRole.Assistant, Contents = [new ErrorContent($"invalid key {Key} for prompt {Prompt}") { ErrorCode = "server_error" }] };
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }

    /// <summary>Every tag of every span and measurement of the LlmRouter source and meter, as text.</summary>
    private sealed class TelemetryCapture : IDisposable
    {
        private readonly ActivityListener _activities;
        private readonly MeterListener _meters = new();
        private readonly List<string> _tags = [];

        public TelemetryCapture()
        {
            _activities = new ActivityListener
            {
                ShouldListenTo = s => s.Name == RouterTelemetry.Name,
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = a =>
                {
                    lock (_tags)
                    {
                        _tags.Add(a.DisplayName + " " + a.StatusDescription);
                        foreach (KeyValuePair<string, object?> tag in a.TagObjects)
                        {
                            _tags.Add(tag.Key + "=" + tag.Value);
                        }
                    }
                },
            };
            ActivitySource.AddActivityListener(_activities);
            _meters.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == RouterTelemetry.Name)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _meters.SetMeasurementEventCallback<long>((_, _, tags, _) => Record(tags));
            _meters.SetMeasurementEventCallback<double>((_, _, tags, _) => Record(tags));
            _meters.SetMeasurementEventCallback<int>((_, _, tags, _) => Record(tags));
            _meters.Start();
        }

        public List<string> Tags
        {
            get
            {
                lock (_tags)
                {
                    return [.. _tags];
                }
            }
        }

        public void Flush() => _meters.RecordObservableInstruments();

        public void Dispose()
        {
            _activities.Dispose();
            _meters.Dispose();
        }

        private void Record(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            lock (_tags)
            {
                foreach (KeyValuePair<string, object?> tag in tags)
                {
                    _tags.Add(tag.Key + "=" + tag.Value);
                }
            }
        }
    }
}
