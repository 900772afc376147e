using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace LlmRouter.Tests.Reliability;

/// <summary>
/// The concurrency stress (issue 9, item 4): 64 callers on real threads and real time against four fake endpoints (one
/// steady, one flaky, one slow, one that streams long answers), through a router built by <c>AddLlmRouter</c> from a
/// configuration reloaded all along the run (weights, timeouts, retries, cache on and off, health thresholds, hedging,
/// mid-stream policy), with random cancellations before, during and in the middle of streams, abandoned streams and
/// repeated requests that hit the cache. 5 s in CI; 60 s with <c>LLMROUTER_FULL_RELIABILITY=1</c>.
/// </summary>
/// <remarks>
/// <para>
/// Every metric is checked exactly against what the callers saw and what the endpoints received. The one thing a caller
/// cannot see is the outcome of the upstream request behind a cache miss it gave up on (cancelled, or stopped reading
/// a stream): the cache runs that request detached from the caller, so it may still succeed, fail or be cancelled. Those
/// requests are counted apart ("detached") and bound the difference between the router's counts and the callers'.
/// </para>
/// <para>
/// Each caller repeats only its own questions, so no two callers ever share an upstream call; single flight between
/// callers is <see cref="Caching.SingleFlightTests"/>'s subject. A watchdog thread fails the test with every caller's
/// position when a call runs past <see cref="StuckAfter"/>, instead of letting the run hang.
/// </para>
/// </remarks>
[Collection(IsolatedReliabilityDefinition.Name)]
public sealed class ConcurrencyStressTests
{
    private const int Callers = 64;
    private const int Seed = 94;

    // The longest legitimate call: 5 attempts of at most 0.6 s, backoff, the all-open wait and a continued stream fit
    // in a few seconds; twenty is a hang.
    private static readonly TimeSpan StuckAfter = TimeSpan.FromSeconds(20);

    private static readonly string[] Names = ["steady", "flaky", "slow", "streamer"];

    [Fact]
    public async Task SixtyFourCallers_WithReloadsCancellationsAndCacheHits_NeverHang_AndEveryCountIsExact()
    {
        TimeSpan duration = ReliabilityScale.Duration(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(60));
        var unobserved = new ConcurrentQueue<Exception>();
        void OnUnobserved(object? sender, UnobservedTaskExceptionEventArgs e) => unobserved.Enqueue(e.Exception);
        TaskScheduler.UnobservedTaskException += OnUnobserved;
        try
        {
            await RunAsync(duration, unobserved);
        }
        finally
        {
            TaskScheduler.UnobservedTaskException -= OnUnobserved;
        }
    }

    private static async Task RunAsync(TimeSpan duration, ConcurrentQueue<Exception> unobserved)
    {
        var wall = Stopwatch.StartNew();
        DelayedChatClient[] endpoints = CreateEndpoints();
        IConfigurationRoot configuration = new ConfigurationBuilder().AddInMemoryCollection(InitialSettings()).Build();
        var services = new ServiceCollection();
        foreach (DelayedChatClient endpoint in endpoints)
        {
            _ = services.AddKeyedChatClient(endpoint.Name, endpoint);
        }

        _ = services.AddLlmRouter(configuration.GetSection("LlmRouter"));
        using ServiceProvider provider = services.BuildServiceProvider();
        RouterChatClient router = provider.GetRequiredService<RouterChatClient>();
        using var meters = new MeterTotals(router);

        var gate = new ReloadGate { CacheOn = true };
        var states = new CallerState[Callers + 1];
        for (int i = 0; i < states.Length; i++)
        {
            states[i] = new CallerState(i < Callers ? $"caller {i}" : "reloader");
        }

        var tallies = new Tally[Callers];
        using var stop = new CancellationTokenSource(duration);
        var tripped = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var done = new StrongBox<bool>();
        var watchdog = new Thread(() => Watch(states, done, tripped)) { IsBackground = true, Name = "stress watchdog" };
        watchdog.Start();

        var work = new Task[Callers + 1];
        for (int i = 0; i < Callers; i++)
        {
            int id = i;
            tallies[id] = new Tally();
            work[id] = Task.Run(() => CallAsync(id, router, gate, states[id], tallies[id], stop.Token));
        }

        int reloads = 0;
        work[Callers] = Task.Run(async () => reloads = await ReloadAsync(configuration, gate, states[Callers], stop.Token));

        Task all = Task.WhenAll(work);
        TimeSpan running;
        Tally total;
        long expectedRequests;
        bool quiet;
        try
        {
            if (await Task.WhenAny(all, tripped.Task) == tripped.Task)
            {
                Assert.Fail(await tripped.Task);
            }

            await all; // the callers catch everything a call throws: anything here is a bug of the test
            running = wall.Elapsed;
            total = Tally.Merge(tallies);
            expectedRequests = total.DirectTotal + total.Detached;

            // Detached requests may still run after their caller left; wait for them (and for hedges being drained).
            quiet = await EventuallyAsync(
                () => InFlight(router) == 0 && router.Cache.InFlight == 0 && meters.Sum("llmrouter.requests") == expectedRequests,
                TimeSpan.FromSeconds(30));
        }
        finally
        {
            Volatile.Write(ref done.Value, true);
            await stop.CancelAsync(); // after a trip, the callers that can still stop do
        }

        router.RefreshSnapshots();
        UnobservedTaskExceptionGuard.CollectAll();

        ReliabilityScale.Report(
            $"{Callers} callers for {duration.TotalSeconds:0} s (seed {Seed}), {reloads} reloads, finished in {running.TotalSeconds:0.0} s, quiet {(wall.Elapsed - running).TotalMilliseconds:0} ms later");
        ReliabilityScale.Report(total.Describe());
        ReliabilityScale.Report(meters.Describe());
        ReliabilityScale.Report(string.Join("; ", endpoints.Select(e => $"{e.Name}: {e.Calls} calls")));

        Assert.True(total.Unexpected.IsEmpty, "Unexpected outcomes:\n" + string.Join("\n", total.Unexpected.Take(10)));
        Assert.Empty(unobserved);
        Assert.True(quiet, $"never quiet: {InFlight(router)} attempt(s) and {router.Cache.InFlight} cache flight(s) in flight, " +
            $"{meters.Sum("llmrouter.requests")} requests counted, {expectedRequests} expected");
        Assert.Equal(total.Calls, total.EndedCount);
        Assert.True(total.Calls > Callers * 10, $"only {total.Calls} calls: the stress did not run");
        Assert.True(total.Hits > 0 && total.Detached > 0 && reloads > 5, "the run exercised too little: " + total.Describe());

        // The cache: one lookup per call made while it was on, hits exactly those the callers saw.
        Assert.Equal(total.Hits, meters.Sum("llmrouter.cache.requests", result: "hit"));
        Assert.Equal(total.ViaCache - total.Hits, meters.Sum("llmrouter.cache.requests", result: "miss") + meters.Sum("llmrouter.cache.requests", result: "coalesced"));
        Assert.True(meters.Sum("llmrouter.cache.requests", result: "miss") >= total.ObservedMiss);

        // No two callers share a question and each waits for its call to end, so no request ever finds another in flight.
        Assert.Equal(0, total.ObservedCoalesced);
        Assert.Equal(0, meters.Sum("llmrouter.cache.requests", result: "coalesced"));

        // Requests: one per call that did not hit the cache; by outcome, exactly what the callers saw, give or take the
        // detached requests, which only ever add to a count.
        Assert.Equal(expectedRequests, meters.Sum("llmrouter.requests"));
        long residual = 0;
        foreach (string outcome in Outcomes)
        {
            long counted = meters.Sum("llmrouter.requests", outcome: outcome);
            long seen = total.Direct.GetValueOrDefault(outcome);
            Assert.True(counted >= seen, $"requests '{outcome}': {counted} counted, but callers saw {seen}");
            residual += counted - seen;
        }

        Assert.Equal(total.Detached, residual);
        long detachedSuccesses = meters.Sum("llmrouter.requests", outcome: "success") - total.Direct.GetValueOrDefault("success");
        long endpointResidual = 0;
        long failoverResidual = 0;
        foreach (string name in Names)
        {
            long served = meters.Sum("llmrouter.requests", endpoint: name, outcome: "success");
            long seen = total.SuccessBy.GetValueOrDefault(name);
            Assert.True(served >= seen, $"successes served by {name}: {served} counted, callers saw {seen}");
            endpointResidual += served - seen;

            long failovers = meters.Sum("llmrouter.failovers", endpoint: name);
            long seenFailovers = total.FailoversBy.GetValueOrDefault(name);
            Assert.True(failovers >= seenFailovers, $"failovers to {name}: {failovers} counted, callers saw {seenFailovers}");
            failoverResidual += failovers - seenFailovers;
        }

        Assert.Equal(detachedSuccesses, endpointResidual);
        Assert.InRange(failoverResidual, 0, detachedSuccesses);

        // Attempts: exactly the calls each endpoint received, and exactly the router's own cumulative snapshot.
        IReadOnlyList<EndpointSnapshot> snapshots = router.GetSnapshot();
        for (int i = 0; i < endpoints.Length; i++)
        {
            string name = endpoints[i].Name;
            EndpointSnapshot snapshot = snapshots.Single(s => s.Endpoint == name);
            Assert.Equal(endpoints[i].Calls, meters.Sum("llmrouter.attempts", endpoint: name));
            Assert.Equal(endpoints[i].Calls, snapshot.TotalAttempts);
            Assert.Equal(0, snapshot.InFlight);
            Assert.Equal(snapshot.Successes, meters.Sum("llmrouter.attempts", endpoint: name, outcome: "success"));
            foreach (FailureKind kind in Enum.GetValues<FailureKind>())
            {
                Assert.Equal(snapshot.FailureCount(kind), meters.Sum("llmrouter.attempts", endpoint: name, outcome: OutcomeOf(kind)));
            }
        }

        // Every successful request has exactly one successful attempt: the one that served it (or its last continuation).
        Assert.Equal(meters.Sum("llmrouter.requests", outcome: "success"), meters.Sum("llmrouter.attempts", outcome: "success"));
    }

    private static readonly string[] Outcomes = ["success", "canceled", "all_endpoints_failed", "no_endpoint_available", "stream_interrupted", "error"];

    private static string OutcomeOf(FailureKind kind) => kind switch
    {
        FailureKind.RateLimited => "rate_limited",
        FailureKind.Transient => "transient",
        FailureKind.Timeout => "timeout",
        FailureKind.ContentFilter => "content_filter",
        FailureKind.ContextLength => "context_length",
        FailureKind.Auth => "auth",
        FailureKind.BadRequest => "bad_request",
        FailureKind.Canceled => "canceled",
        _ => "error",
    };

    private static int InFlight(RouterChatClient router)
    {
        int inFlight = 0;
        foreach (RouterEndpoint endpoint in router.Endpoints)
        {
            inFlight += endpoint.Metrics.InFlight;
        }

        return inFlight;
    }

    private static async Task<bool> EventuallyAsync(Func<bool> condition, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > timeout)
            {
                return false;
            }

            await Task.Delay(20);
        }

        return true;
    }

    private static DelayedChatClient[] CreateEndpoints()
    {
        TimeProvider time = TimeProvider.System;
        Func<double> random = SeededRandom.Create(Seed);
        TimeSpan Between(double low, double high) => TimeSpan.FromMilliseconds(low + (random() * (high - low)));
        Exception? Fails(double share, int status) => random() < share ? RouterFactory.Http(status) : null;
        (int, Exception)? Cuts(double share, int chunks) => random() < share ? (1 + (int)(random() * (chunks - 1)), RouterFactory.Http(502)) : null;

        return
        [
            new DelayedChatClient("steady", time, _ => Between(2, 15))
            {
                Failure = _ => Fails(0.02, 503),
                Chunks = _ => ["steady ", "answer ", "here"],
                MidStreamFailure = _ => Cuts(0.02, 3),
            },
            new DelayedChatClient("flaky", time, _ => Between(2, 30))
            {
                Failure = _ => Fails(0.3, random() < 0.3 ? 429 : 503),
                Chunks = _ => ["flaky ", "answer ", "here"],
                MidStreamFailure = _ => Cuts(0.1, 3),
            },
            new DelayedChatClient("slow", time, _ => Between(20, 600)) // often past the attempt and first-token timeouts
            {
                Failure = _ => Fails(0.05, 503),
                Chunks = _ => ["slow ", "answer"],
            },
            new DelayedChatClient("streamer", time, _ => Between(2, 20))
            {
                Failure = _ => Fails(0.05, 502),
                Chunks = _ => ["a ", "long ", "streamed ", "answer ", "in ", "eight ", "small ", "chunks"],
                ChunkInterval = _ => Between(0, 12),
                MidStreamFailure = _ => Cuts(0.15, 8),
            },
        ];
    }

    private static Dictionary<string, string?> InitialSettings()
    {
        var settings = new Dictionary<string, string?>
        {
            ["LlmRouter:Strategy"] = "WeightedRandom",
            ["LlmRouter:AttemptTimeout"] = Ms(300),
            ["LlmRouter:Retry:MaxAttempts"] = "4",
            ["LlmRouter:Retry:MaxRetriesPerEndpoint"] = "1",
            ["LlmRouter:Retry:BaseDelay"] = Ms(5),
            ["LlmRouter:Retry:MaxDelay"] = Ms(50),
            ["LlmRouter:Retry:BudgetRatio"] = "0.5",
            ["LlmRouter:Health:FailureThreshold"] = "5",
            ["LlmRouter:Health:BreakDuration"] = Ms(200),
            ["LlmRouter:Health:MaxBreakDuration"] = Ms(1000),
            ["LlmRouter:Health:AllOpenMaxWait"] = Ms(200),
            ["LlmRouter:Health:DefaultRateLimitCooldown"] = Ms(50),
            ["LlmRouter:Health:MaxRateLimitCooldown"] = Ms(500),
            ["LlmRouter:Health:SlowStartDuration"] = Ms(200),
            ["LlmRouter:Streaming:FirstTokenTimeout"] = Ms(300),
            ["LlmRouter:Streaming:StallTimeout"] = Ms(300),
            ["LlmRouter:Streaming:MidStreamPolicy"] = "Throw",
            ["LlmRouter:Hedging:Enabled"] = "true",
            ["LlmRouter:Hedging:Delay"] = Ms(80),
            ["LlmRouter:Cache:Enabled"] = "true",
            ["LlmRouter:Cache:TimeToLive"] = Ms(2000),
        };
        foreach (string name in Names)
        {
            settings[$"LlmRouter:Endpoints:{name}:Weight"] = "1";
        }

        return settings;
    }

    private static string Ms(double milliseconds) => TimeSpan.FromMilliseconds(milliseconds).ToString("c", CultureInfo.InvariantCulture);

    /// <summary>Changes a random handful of settings every 20-100 ms; only valid values, so every change reaches the router.</summary>
    private static async Task<int> ReloadAsync(IConfigurationRoot configuration, ReloadGate gate, CallerState state, CancellationToken stop)
    {
        Func<double> random = SeededRandom.Create(Seed - 1);
        int reloads = 0;
        while (!stop.IsCancellationRequested)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(20 + (random() * 80)), CancellationToken.None);
            var changes = new List<(string Key, string Value)>();
            void Maybe(double share, string key, string value)
            {
                if (random() < share)
                {
                    changes.Add(("LlmRouter:" + key, value));
                }
            }

            foreach (string name in Names)
            {
                Maybe(0.5, $"Endpoints:{name}:Weight", (0.2 + (random() * 3)).ToString("0.00", CultureInfo.InvariantCulture));
            }

            Maybe(0.2, "Strategy", random() < 0.6 ? "WeightedRandom" : random() < 0.5 ? "Score" : "Ordered");
            Maybe(0.3, "AttemptTimeout", Ms(150 + (random() * 350)));
            Maybe(0.3, "Retry:MaxAttempts", ((int)(2 + (random() * 4))).ToString(CultureInfo.InvariantCulture));
            Maybe(0.3, "Retry:MaxRetriesPerEndpoint", ((int)(random() * 3)).ToString(CultureInfo.InvariantCulture));
            Maybe(0.3, "Cache:Enabled", random() < 0.75 ? "true" : "false");
            Maybe(0.3, "Cache:TimeToLive", Ms(200 + (random() * 4800)));
            Maybe(0.2, "Health:FailureThreshold", ((int)(3 + (random() * 8))).ToString(CultureInfo.InvariantCulture));
            Maybe(0.2, "Health:BreakDuration", Ms(100 + (random() * 200)));
            Maybe(0.2, "Streaming:MidStreamPolicy", random() < 0.5 ? "Throw" : "Continue");
            Maybe(0.2, "Streaming:FirstTokenTimeout", Ms(200 + (random() * 300)));
            Maybe(0.2, "Hedging:Enabled", random() < 0.5 ? "true" : "false");
            if (changes.Count == 0)
            {
                continue;
            }

            state.Begin(string.Join(", ", changes.Select(c => $"{c.Key}={c.Value}")));
            gate.Write(() =>
            {
                foreach ((string key, string value) in changes)
                {
                    configuration[key] = value;
                }

                configuration.Reload(); // the monitor rebinds, validates and notifies the router before this returns
                gate.CacheOn = bool.Parse(configuration["LlmRouter:Cache:Enabled"]!);
            });
            state.End();
            reloads++;
        }

        return reloads;
    }

    private enum Cut
    {
        None,
        Before,
        During,
        MidStream,
        Abandon,
    }

    private static async Task CallAsync(int id, RouterChatClient router, ReloadGate gate, CallerState state, Tally tally, CancellationToken stop)
    {
        Func<double> random = SeededRandom.Create((Seed * 1_000) + id);
        long number = 0;
        while (!stop.IsCancellationRequested)
        {
            number++;
            bool streaming = random() < 0.5;

            // Repeated questions are this caller's own, so the cache answers them, but no other caller shares them.
            string prompt = random() < 0.5
                ? $"caller {id} asks question {(int)(random() * 3)}"
                : $"caller {id} asks question {number + 100}";
            double draw = random();
            Cut cut = draw < 0.03 ? Cut.Before
                : draw < 0.11 ? Cut.During
                : streaming && draw < 0.17 ? Cut.MidStream
                : streaming && draw < 0.21 ? Cut.Abandon
                : Cut.None;
            int cutAt = 1 + (int)(random() * 3);
            using var cancellation = new CancellationTokenSource();
            if (cut == Cut.Before)
            {
                cancellation.Cancel();
            }
            else if (cut == Cut.During)
            {
                cancellation.CancelAfter(TimeSpan.FromMilliseconds(random() * 150));
            }

            List<ChatMessage> messages = [new(ChatRole.User, prompt)];
            var call = new CallRecord { Streaming = streaming, Cut = cut };
            tally.Started();
            state.Begin($"call #{number}, {(streaming ? "streaming" : "plain")}, cut {cut}, '{prompt}'");
            try
            {
                if (streaming)
                {
                    await StreamAsync(router, gate, messages, cut, cutAt, call, state, cancellation);
                }
                else
                {
                    Task<ChatResponse> task;
                    gate.EnterRead();
                    try
                    {
                        call.ViaCache = gate.CacheOn;
                        task = router.GetResponseAsync(messages, null, cancellation.Token);
                    }
                    finally
                    {
                        gate.ExitRead();
                    }

                    state.Phase = "awaiting the response";
                    ChatResponse response = await task;
                    call.Info = response.GetRoutingInfo();
                    call.Outcome = "success";
                }
            }
#pragma warning disable CA1031 // Every exception is tallied: the expected types by outcome, the others as failures of the test.
            catch (Exception exception)
#pragma warning restore CA1031
            {
                call.Error = exception;
                call.Outcome = exception switch
                {
                    OperationCanceledException when cancellation.IsCancellationRequested => "canceled",
                    AllEndpointsFailedException => "all_endpoints_failed",
                    NoEndpointAvailableException => "no_endpoint_available",
                    StreamInterruptedException => "stream_interrupted",
                    _ => null,
                };
            }

            tally.Ended(call);
            state.End();
        }
    }

    private static async Task StreamAsync(
        RouterChatClient router, ReloadGate gate, List<ChatMessage> messages, Cut cut, int cutAt, CallRecord call, CallerState state, CancellationTokenSource cancellation)
    {
        IAsyncEnumerator<ChatResponseUpdate> enumerator;
        ValueTask<bool> first;
        gate.EnterRead();
        try
        {
            // The cache decides on the first MoveNextAsync, which runs synchronously up to its first wait.
            call.ViaCache = gate.CacheOn;
            enumerator = router.GetStreamingResponseAsync(messages, null, cancellation.Token).GetAsyncEnumerator();
            first = enumerator.MoveNextAsync();
        }
        finally
        {
            gate.ExitRead();
        }

        try
        {
            state.Phase = "awaiting update 1";
            bool more = await first;
            int received = 0;
            while (more)
            {
                received++;
                if (received == 1)
                {
                    call.Info = enumerator.Current.GetRoutingInfo();
                }

                if (received == cutAt && cut == Cut.MidStream)
                {
                    cancellation.Cancel();
                }

                if (received == cutAt && cut == Cut.Abandon)
                {
                    call.Abandoned = true;
                    break;
                }

                state.Phase = $"awaiting update {received + 1}";
                more = await enumerator.MoveNextAsync();
            }

            call.Outcome = "success";
        }
        finally
        {
            state.Phase = "disposing the stream";
            try
            {
                await enumerator.DisposeAsync();
            }
#pragma warning disable CA1031 // Tallied as a failure of the router: disposing a stream must not throw.
            catch (Exception exception)
#pragma warning restore CA1031
            {
                call.DisposeError = exception;
            }
        }
    }

    private static void Watch(CallerState[] states, StrongBox<bool> done, TaskCompletionSource<string> tripped)
    {
        // A thread of its own, so that it still looks when the thread pool is starved or deadlocked.
        while (!Volatile.Read(ref done.Value))
        {
            Thread.Sleep(250);
            if (Array.Exists(states, s => s.Elapsed > StuckAfter))
            {
                // Every caller busy for a while, longest first: the stuck ones, and what they may be waiting on.
                var dump = new StringBuilder($"Calls running for more than {StuckAfter.TotalSeconds:0.##} s (a deadlock or a lost completion):\n");
                foreach (CallerState state in states.Where(s => s.Elapsed > StuckAfter / 2).OrderByDescending(s => s.Elapsed))
                {
                    _ = dump.Append(CultureInfo.InvariantCulture, $"  {state.Name}: {state.Description}; {state.Phase}; for {state.Elapsed.TotalSeconds:0.00} s\n");
                }

                ReliabilityScale.Report(dump.ToString());
                _ = tripped.TrySetResult(dump.ToString());
                return;
            }
        }
    }

    /// <summary>Where one caller is: what it calls and since when, read by the watchdog thread.</summary>
    private sealed class CallerState(string name)
    {
        private long _since;

        public string Name { get; } = name;

        public volatile string Description = string.Empty;

        public volatile string Phase = string.Empty;

        public TimeSpan Elapsed => Volatile.Read(ref _since) is var since and not 0 ? Stopwatch.GetElapsedTime(since) : TimeSpan.Zero;

        public void Begin(string description)
        {
            Description = description;
            Phase = "starting";
            Volatile.Write(ref _since, Stopwatch.GetTimestamp());
        }

        public void End()
        {
            Volatile.Write(ref _since, 0);
            Phase = "idle";
        }
    }

    /// <summary>
    /// Holds reloads off while a caller starts a call, so that the caller knows whether the cache was on for it: the
    /// router decides on the call's synchronous start. Not tied to a thread (a continuation may run inline inside another
    /// caller's start), and re-entrant on one thread.
    /// </summary>
    private sealed class ReloadGate
    {
        [ThreadStatic]
        private static int t_depth;

        private readonly Lock _writer = new();
        private int _readers;
        private int _writing;

        public volatile bool CacheOn;

        public void EnterRead()
        {
            if (t_depth++ > 0)
            {
                _ = Interlocked.Increment(ref _readers);
                return;
            }

            var spin = default(SpinWait);
            while (true)
            {
                while (Volatile.Read(ref _writing) != 0)
                {
                    spin.SpinOnce();
                }

                _ = Interlocked.Increment(ref _readers);
                if (Volatile.Read(ref _writing) == 0)
                {
                    return;
                }

                _ = Interlocked.Decrement(ref _readers);
            }
        }

        public void ExitRead()
        {
            t_depth--;
            _ = Interlocked.Decrement(ref _readers);
        }

        public void Write(Action reload)
        {
            lock (_writer)
            {
                _ = Interlocked.Exchange(ref _writing, 1);
                var spin = default(SpinWait);
                while (Volatile.Read(ref _readers) != 0)
                {
                    spin.SpinOnce();
                }

                try
                {
                    reload();
                }
                finally
                {
                    _ = Interlocked.Exchange(ref _writing, 0);
                }
            }
        }
    }

    /// <summary>One call as its caller saw it.</summary>
    private sealed class CallRecord
    {
        public bool Streaming { get; init; }

        public Cut Cut { get; init; }

        public bool ViaCache { get; set; }

        public bool Abandoned { get; set; }

        public RoutingInfo? Info { get; set; }

        public string? Outcome { get; set; }

        public Exception? Error { get; set; }

        public Exception? DisposeError { get; set; }
    }

    /// <summary>One caller's own counts (no sharing while the run lasts); merged at the end.</summary>
    private sealed class Tally
    {
        private long _ended;

        public long Calls { get; private set; }

        public long EndedCount => _ended;

        public long ViaCache { get; private set; }

        public long Hits { get; private set; }

        public long ObservedMiss { get; private set; }

        public long ObservedCoalesced { get; private set; }

        /// <summary>Gets the cache misses whose caller gave up (cancelled, or stopped reading): their upstream request runs on, detached.</summary>
        public long Detached { get; private set; }

        public long Streams { get; private set; }

        public long Abandoned { get; private set; }

        public long FailedOver { get; private set; }

        /// <summary>Gets the outcomes of the requests whose outcome the caller saw: every call but cache hits and detached misses.</summary>
        public Dictionary<string, long> Direct { get; } = [];

        public Dictionary<string, long> SuccessBy { get; } = [];

        public Dictionary<string, long> FailoversBy { get; } = [];

        public Dictionary<string, long> Cuts { get; } = [];

        public ConcurrentQueue<string> Unexpected { get; } = new();

        public long DirectTotal => Direct.Values.Sum();

        public void Started() => Calls++;

        public void Ended(CallRecord call)
        {
            if (Interlocked.Increment(ref _ended) > Calls)
            {
                Unexpected.Enqueue("a call ended twice");
            }

            Streams += call.Streaming ? 1 : 0;
            Abandoned += call.Abandoned ? 1 : 0;
            Add(Cuts, call.Cut.ToString());
            string what = $"{(call.Streaming ? "stream" : "call")} (cut {call.Cut}, cache {(call.ViaCache ? "on" : "off")})";
            if (call.DisposeError is { } disposeError)
            {
                Unexpected.Enqueue($"{what}: disposing the stream threw {disposeError}");
            }

            if (call.Outcome is null)
            {
                Unexpected.Enqueue($"{what}: leaked {call.Error}");
                return;
            }

            ViaCache += call.ViaCache ? 1 : 0;
            CacheResult cache = call.Info?.Cache ?? CacheResult.NotUsed;
            if (call.Outcome == "success" && call.Info is null)
            {
                Unexpected.Enqueue($"{what}: succeeded without routing information");
            }

            if (call.Outcome == "success" && (cache != CacheResult.NotUsed) != call.ViaCache)
            {
                Unexpected.Enqueue($"{what}: the cache said {cache}: the reload of Cache:Enabled did not reach the router");
            }

            if (cache == CacheResult.Hit)
            {
                Hits++;
                return;
            }

            ObservedMiss += cache == CacheResult.Miss ? 1 : 0;
            ObservedCoalesced += cache == CacheResult.Coalesced ? 1 : 0;
            if (call.ViaCache && (call.Outcome == "canceled" || call.Abandoned))
            {
                Detached++;
                return;
            }

            Add(Direct, call.Outcome);
            if (call.Outcome == "success")
            {
                Add(SuccessBy, call.Info!.Endpoint);
                if (call.Info.FailedOver)
                {
                    FailedOver++;
                    Add(FailoversBy, call.Info.Endpoint);
                }
            }
        }

        public static Tally Merge(IEnumerable<Tally> tallies)
        {
            var total = new Tally();
            foreach (Tally tally in tallies)
            {
                total.Calls += tally.Calls;
                total._ended += tally._ended;
                total.ViaCache += tally.ViaCache;
                total.Hits += tally.Hits;
                total.ObservedMiss += tally.ObservedMiss;
                total.ObservedCoalesced += tally.ObservedCoalesced;
                total.Detached += tally.Detached;
                total.Streams += tally.Streams;
                total.Abandoned += tally.Abandoned;
                total.FailedOver += tally.FailedOver;
                AddAll(total.Direct, tally.Direct);
                AddAll(total.SuccessBy, tally.SuccessBy);
                AddAll(total.FailoversBy, tally.FailoversBy);
                AddAll(total.Cuts, tally.Cuts);
                foreach (string unexpected in tally.Unexpected)
                {
                    total.Unexpected.Enqueue(unexpected);
                }
            }

            return total;
        }

        public string Describe() =>
            $"{Calls} calls ({Streams} streamed, {ViaCache} with the cache on): {Hits} hits, {ObservedMiss} misses and {ObservedCoalesced} coalesced seen, " +
            $"{Detached} detached, {Abandoned} abandoned, {FailedOver} failed over; outcomes seen {Format(Direct)}; cuts {Format(Cuts)}";

        private static string Format(Dictionary<string, long> counts) =>
            string.Join(", ", counts.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key} {p.Value}"));

        private static void Add(Dictionary<string, long> counts, string key) => counts[key] = counts.GetValueOrDefault(key) + 1;

        private static void AddAll(Dictionary<string, long> into, Dictionary<string, long> from)
        {
            foreach ((string key, long value) in from)
            {
                into[key] = into.GetValueOrDefault(key) + value;
            }
        }
    }

    /// <summary>The router's counters, summed by endpoint, outcome and cache result as they arrive (a long run would not fit as a list).</summary>
    private sealed class MeterTotals : IDisposable
    {
        private readonly MeterListener _listener;
        private readonly ConcurrentDictionary<(string Instrument, string? Endpoint, string? Outcome, string? Result), long> _sums = new();

        public MeterTotals(RouterChatClient router)
        {
            _listener = new MeterListener
            {
                InstrumentPublished = (instrument, listener) =>
                {
                    if (ReferenceEquals(instrument.Meter, router.Telemetry.Meter) && instrument is Counter<long>)
                    {
                        listener.EnableMeasurementEvents(instrument);
                    }
                },
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            {
                string? endpoint = null;
                string? outcome = null;
                string? result = null;
                foreach (KeyValuePair<string, object?> tag in tags)
                {
                    switch (tag.Key)
                    {
                        case "llmrouter.endpoint":
                            endpoint = tag.Value as string;
                            break;
                        case "llmrouter.outcome":
                            outcome = tag.Value as string;
                            break;
                        case "llmrouter.cache.result":
                            result = tag.Value as string;
                            break;
                    }
                }

                _ = _sums.AddOrUpdate((instrument.Name, endpoint, outcome, result), value, (_, sum) => sum + value);
            });
            _listener.Start();
        }

        public long Sum(string instrument, string? endpoint = null, string? outcome = null, string? result = null)
        {
            long sum = 0;
            foreach (KeyValuePair<(string Instrument, string? Endpoint, string? Outcome, string? Result), long> entry in _sums)
            {
                if (entry.Key.Instrument == instrument &&
                    (endpoint is null || entry.Key.Endpoint == endpoint) &&
                    (outcome is null || entry.Key.Outcome == outcome) &&
                    (result is null || entry.Key.Result == result))
                {
                    sum += entry.Value;
                }
            }

            return sum;
        }

        public string Describe() => string.Join(
            "; ",
            _sums.OrderBy(p => p.Key.ToString(), StringComparer.Ordinal).Select(p => $"{p.Key.Instrument}[{p.Key.Endpoint},{p.Key.Outcome},{p.Key.Result}]={p.Value}"));

        public void Dispose() => _listener.Dispose();
    }
}
