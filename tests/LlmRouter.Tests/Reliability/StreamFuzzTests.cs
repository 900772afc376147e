using System.Diagnostics;
using System.Text;
using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;

namespace LlmRouter.Tests.Reliability;

/// <summary>
/// Fuzzes the router with malformed provider streams (<see cref="FuzzStreamClient"/>): updates in any order, empty and
/// role-only updates, null contents, usage-only updates, tool calls, text after the finish reason, two finish reasons,
/// MB-sized chunks, in-band errors, exceptions at any position (before the enumerator exists, before the first update,
/// mid-stream), hangs that honour cancellation and hangs that ignore it, with synchronous and asynchronous yields; under
/// random policies (Throw or Continue, hedging, finish reasons required or not, content-filter fallbacks, retries) and
/// callers that cancel.
/// </summary>
/// <remarks>
/// <para>
/// The contract (README "Streams", <see cref="StreamingOptions"/>, <see cref="EndpointOptions.RequiresFinishReason"/>,
/// <see cref="RouterChatClient"/>'s documented exceptions). A provider stream is <b>broken</b> when it throws, hangs (the
/// router has to give up on it), carries an <see cref="ErrorContent"/> update, or ends without any update carrying a
/// finish reason while its endpoint requires one. Text after a finish reason and a second finish reason are malformed
/// but not broken: the router is not documented to police them and passes them through.
/// </para>
/// <para>
/// Asserted for every case: the call ends (a real-time watchdog fails the case otherwise; the router's clock is fake and
/// only moves when an endpoint hangs or the router waits with nothing else running); a normal end is served by a stream
/// that is not broken and was delivered whole; a failure is one of the documented exceptions (an
/// <see cref="LlmRouterException"/>, the provider's own request error rethrown as is, <see cref="OperationCanceledException"/>
/// only when the caller cancelled); once output reached the caller a failure is <see cref="StreamInterruptedException"/>
/// whose partial text is exactly what was delivered; the delivered updates are, in order, a prefix of one provider
/// stream, then (only under <see cref="MidStreamPolicy.Continue"/>) a prefix of another, never duplicated or mixed; every
/// stream opened is disposed. When the first stream is well formed and the clock never had to move, it is served.
/// </para>
/// </remarks>
public sealed class StreamFuzzTests
{
    private static readonly TimeSpan Watchdog = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task StreamingResponse_MalformedProviderStreams_NeverSucceedBrokenNeverHangOnlyDocumentedExceptions()
    {
        int cases = ReliabilityScale.Count(ci: 2_000, full: 10_000);
        await RunAsync(cases, seed: 91_000, streaming: true);
    }

    [Fact]
    public async Task Response_MalformedProviderCalls_NeverSucceedBrokenNeverHangOnlyDocumentedExceptions()
    {
        int cases = ReliabilityScale.Count(ci: 2_000, full: 10_000);
        await RunAsync(cases, seed: 92_000, streaming: false);
    }

    private static async Task RunAsync(int cases, int seed, bool streaming)
    {
        var failures = new List<string>();
        var tally = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < cases; i++)
        {
            int caseSeed = seed + i;
            (string outcome, string? problem) = await RunCaseAsync(caseSeed, streaming);
            tally[outcome] = tally.GetValueOrDefault(outcome) + 1;
            if (problem is not null)
            {
                failures.Add($"seed {caseSeed}: {problem}");
                if (failures.Count >= 10)
                {
                    break;
                }
            }
        }

        ReliabilityScale.Report($"{cases} {(streaming ? "streaming" : "non-streaming")} cases in {watch.Elapsed.TotalSeconds:0.0} s: " +
            string.Join(", ", tally.Select(t => $"{t.Key} {t.Value}")));
        Assert.True(failures.Count == 0, string.Join("\n", failures));

        // The generator must reach every kind of outcome, or the run proves little.
        Assert.True(tally.GetValueOrDefault("served") > cases / 10, "too few served");
        Assert.True(tally.GetValueOrDefault("AllEndpointsFailedException") > 0, "no request failed over to exhaustion");
        if (streaming)
        {
            Assert.True(tally.GetValueOrDefault("StreamInterruptedException") > 0, "no stream was interrupted");
        }
    }

    private static async Task<(string Outcome, string? Problem)> RunCaseAsync(int caseSeed, bool streaming)
    {
        var random = new Random(caseSeed);
        var time = new SteppingFakeTimeProvider();
        var recorder = new FuzzRecorder(time);
        int endpointCount = random.Next(1, 4);
        var clients = new FuzzStreamClient[endpointCount];
        var requiresFinish = new bool[endpointCount];
        var fallback = new bool[endpointCount];
        var endpoints = new (string, IChatClient, Action<EndpointOptions>?)[endpointCount];
        for (int e = 0; e < endpointCount; e++)
        {
            clients[e] = new FuzzStreamClient($"e{e}", e, caseSeed, recorder);
            requiresFinish[e] = random.Next(5) != 0;
            fallback[e] = random.Next(6) == 0;
            int priority = e;
            bool finish = requiresFinish[e];
            bool isFallback = fallback[e];
            endpoints[e] = (clients[e].Name, clients[e], o =>
            {
                o.Priority = priority;
                o.RequiresFinishReason = finish;
                o.IsContentFilterFallback = isFallback;
                o.SupportsContinuation = random.Next(5) != 0;
            });
        }

        MidStreamPolicy policy = random.Next(2) == 0 ? MidStreamPolicy.Throw : MidStreamPolicy.Continue;
        bool hedging = random.Next(4) == 0;
        int retries = random.Next(4) == 0 ? 1 : 0;
        using RouterChatClient router = RouterFactory.Create(
            time,
            o =>
            {
                o.Strategy = RoutingStrategy.Ordered;
                o.Randomizer = SeededRandom.Create(caseSeed);
                o.Retry.MaxRetriesPerEndpoint = retries;
                o.Streaming.MidStreamPolicy = policy;
                o.Streaming.FirstTokenTimeout = TimeSpan.FromSeconds(5);
                o.Streaming.StallTimeout = TimeSpan.FromSeconds(5);
                o.AttemptTimeout = TimeSpan.FromSeconds(30);
                o.Hedging.Enabled = hedging;
                o.Hedging.Delay = TimeSpan.FromSeconds(1);
            },
            null,
            endpoints);

        // A caller that cancels: after reading some updates, or while the first is awaited.
        int cancelAfter = random.Next(8) == 0 ? random.Next(0, 3) : -1;
        using var caller = new CancellationTokenSource();
        var delivered = new List<ChatResponseUpdate>();
        ChatResponse? response = null;
        Exception? failure = null;
        long advances = 0;

        async Task ConsumeAsync()
        {
            await Task.Yield();
            try
            {
                if (!streaming)
                {
                    Task<ChatResponse> call = router.GetResponseAsync(RouterFactory.Hello(), null, caller.Token);
                    if (cancelAfter == 0)
                    {
                        await caller.CancelAsync();
                    }

                    response = await call.ConfigureAwait(false);
                    return;
                }

                await using IAsyncEnumerator<ChatResponseUpdate> stream = router.GetStreamingResponseAsync(RouterFactory.Hello(), null, caller.Token).GetAsyncEnumerator(caller.Token);
                while (true)
                {
                    ValueTask<bool> next = stream.MoveNextAsync();
                    if (cancelAfter == delivered.Count && !caller.IsCancellationRequested)
                    {
                        await caller.CancelAsync();
                    }

                    if (!await next.ConfigureAwait(false))
                    {
                        break;
                    }

                    delivered.Add(stream.Current);
                }
            }
#pragma warning disable CA1031 // Judged below.
            catch (Exception exception)
#pragma warning restore CA1031
            {
                failure = exception;
            }
        }

        Task run = Task.Run(ConsumeAsync);
        var watch = Stopwatch.StartNew();
        long lastActivity = -1;
        var idle = Stopwatch.StartNew();
        while (!run.IsCompleted)
        {
            if (watch.Elapsed > Watchdog)
            {
                recorder.ReleaseAll();
                return ("hang", $"HANG: the call did not end within {Watchdog.TotalSeconds} s of real time ({advances} clock advances). {Describe(recorder, delivered)}");
            }

            long activity = recorder.Activity;
            if (activity != lastActivity)
            {
                lastActivity = activity;
                idle.Restart();
            }

            // The clock moves only when an endpoint hangs and has not been given up on yet, or when nothing at all has
            // happened for a while (a backoff): never while a well-behaved stream is being read.
            if (recorder.NeedsTime() || idle.ElapsedMilliseconds > 15)
            {
                if (time.AdvanceToNextTimer())
                {
                    advances++;
                    idle.Restart();
                }
            }

            _ = await Task.WhenAny(run, Task.Delay(1, TestContext.Current.CancellationToken));
        }

        recorder.ReleaseAll();
        string? problem = Judge(streaming, recorder, delivered, response, failure, requiresFinish, fallback, policy, cancelAfter >= 0, advances, hedging);
        if (problem is null && !await AllDisposedAsync(recorder))
        {
            problem = $"a stream was never disposed. {Describe(recorder, delivered)}";
        }

        string outcome = failure is null ? "served" : failure.GetType().Name;
        return (outcome, problem is null ? null : $"{problem}\n  policy {policy}, hedging {hedging}, retries {retries}, cancel after {cancelAfter}, advances {advances}");
    }

    private static string? Judge(
        bool streaming,
        FuzzRecorder recorder,
        List<ChatResponseUpdate> delivered,
        ChatResponse? response,
        Exception? failure,
        bool[] requiresFinish,
        bool[] fallback,
        MidStreamPolicy policy,
        bool callerCancelled,
        long advances,
        bool hedging)
    {
        List<FuzzStream> streams = recorder.Streams;
        string context = Describe(recorder, delivered);

        // Which stream each delivered update came from, and where.
        var origin = new Dictionary<ChatResponseUpdate, (FuzzStream Stream, int Index)>(ReferenceEqualityComparer.Instance);
        foreach (FuzzStream stream in streams)
        {
            List<ChatResponseUpdate> yielded = stream.Yielded;
            for (int i = 0; i < yielded.Count; i++)
            {
                origin[yielded[i]] = (stream, i);
            }
        }

        // Delivered = prefix of one stream, then (Continue only) prefixes of others: no duplicate, no interleaving.
        var segments = new List<(FuzzStream Stream, int Count)>();
        for (int i = 0; i < delivered.Count; i++)
        {
            if (!origin.TryGetValue(delivered[i], out (FuzzStream Stream, int Index) from))
            {
                return $"update {i} reached the caller but no endpoint produced it. {context}";
            }

            if (segments.Count > 0 && segments[^1].Stream == from.Stream && from.Index == segments[^1].Count)
            {
                segments[^1] = (from.Stream, from.Index + 1);
            }
            else if (from.Index == 0 && segments.TrueForAll(s => s.Stream != from.Stream))
            {
                segments.Add((from.Stream, 1));
            }
            else
            {
                return $"update {i} breaks the order: it is update {from.Index} of {Name(from.Stream)} (duplicated, skipped or interleaved). {context}";
            }
        }

        if (segments.Count > 1 && (policy != MidStreamPolicy.Continue || !streaming))
        {
            return $"updates of {segments.Count} streams reached the caller without MidStreamPolicy.Continue. {context}";
        }

        if (failure is null)
        {
            if (!streaming)
            {
                FuzzStream? served = streams.Find(s => ReferenceEquals(s.Response, response));
                if (served is null)
                {
                    return $"the response is none an endpoint returned. {context}";
                }

                return served.Ending == FuzzEnd.Completed ? null : $"a call that {served.Ending} was served as a success. {context}";
            }

            if (segments.Count == 0)
            {
                // Only a stream that ended cleanly without any update, on an endpoint that needs no finish reason.
                bool empty = streams.Exists(s => s.Ending == FuzzEnd.Completed && s.Yielded.Count == 0 && !requiresFinish[s.Endpoint.Index]);
                return empty ? null : $"the stream ended normally with nothing delivered. {context}";
            }

            (FuzzStream last, int count) = segments[^1];
            if (Broken(last, requiresFinish) is { } why)
            {
                return $"SUCCESS OF A BROKEN STREAM: {Name(last)} {why}, yet the caller's stream ended normally. {context}";
            }

            if (count != last.Yielded.Count)
            {
                return $"the caller's stream ended normally after {count} of the {last.Yielded.Count} updates of {Name(last)}. {context}";
            }

            return null;
        }

        bool requestError = streams.Exists(s => ReferenceEquals(s.Exception, failure) && failure is HttpRequestException { StatusCode: System.Net.HttpStatusCode.BadRequest });
        bool documented = failure is LlmRouterException || requestError || (callerCancelled && failure is OperationCanceledException);
        if (!documented)
        {
            return $"UNDOCUMENTED EXCEPTION {failure.GetType().FullName}: {failure.Message}. {context}";
        }

        if (delivered.Count > 0 && failure is not StreamInterruptedException && !(callerCancelled && failure is OperationCanceledException))
        {
            return $"output reached the caller, then {failure.GetType().Name} instead of StreamInterruptedException. {context}";
        }

        if (failure is StreamInterruptedException interrupted)
        {
            if (delivered.Count == 0)
            {
                return $"StreamInterruptedException although no output reached the caller. {context}";
            }

            string text = string.Concat(delivered.Select(u => u.Text));
            if (!string.Equals(interrupted.PartialText, text, StringComparison.Ordinal))
            {
                return $"PartialText ({interrupted.PartialText.Length} chars) is not the delivered text ({text.Length} chars). {context}";
            }
        }

        // A well-formed first stream, served without the clock ever moving, must be served.
        FuzzStream? first = streams.Find(s => s.Endpoint.Index == 0 && s.Call == 0);
        if (streaming && first is not null && advances == 0 && !callerCancelled && !hedging && WellFormed(first, requiresFinish, fallback))
        {
            return $"a well-formed first stream was not served: {failure.GetType().Name}: {failure.Message}. {context}";
        }

        return null;
    }

    /// <summary>Why a stream is broken by the contract; null when it is not.</summary>
    private static string? Broken(FuzzStream stream, bool[] requiresFinish)
    {
        List<ChatResponseUpdate> yielded = stream.Yielded;
        if (stream.Hung)
        {
            return "hung";
        }

        if (stream.Ending != FuzzEnd.Completed)
        {
            return $"ended with {stream.Exception?.GetType().Name ?? "no end"}";
        }

        if (yielded.Exists(u => u.Contents.Any(c => c is ErrorContent)))
        {
            return "carried an in-band error";
        }

        if (requiresFinish[stream.Endpoint.Index] && !yielded.Exists(u => u.FinishReason is not null))
        {
            return "ended without a finish reason";
        }

        return null;
    }

    private static bool WellFormed(FuzzStream stream, bool[] requiresFinish, bool[] fallback)
    {
        bool refusal = fallback.Skip(1).Any(f => f) && stream.Yielded.Exists(u => u.FinishReason == ChatFinishReason.ContentFilter);
        bool noOutput = !stream.Yielded.Exists(u => u.FinishReason is not null || u.Contents.Any(c => c is not UsageContent && !(c is TextContent { Text.Length: 0 }) && !(c is TextReasoningContent { Text.Length: 0 })));
        return Broken(stream, requiresFinish) is null && !refusal && !noOutput;
    }

    private static async Task<bool> AllDisposedAsync(FuzzRecorder recorder)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(5))
        {
            if (recorder.Streams.TrueForAll(s => s.Disposed || s.Response is not null || (s.Ending == FuzzEnd.Threw && s.Yielded.Count == 0 && s.Script[0].Kind == FuzzStepKind.ThrowAtCall)))
            {
                return true;
            }

            await Task.Delay(1, TestContext.Current.CancellationToken);
        }

        return false;
    }

    private static string Name(FuzzStream stream) => $"{stream.Endpoint.Name}#{stream.Call}";

    private static string Describe(FuzzRecorder recorder, List<ChatResponseUpdate> delivered)
    {
        var text = new StringBuilder();
        _ = text.Append(System.Globalization.CultureInfo.InvariantCulture, $"Delivered {delivered.Count}. Streams:");
        foreach (FuzzStream stream in recorder.Streams)
        {
            _ = text.Append(System.Globalization.CultureInfo.InvariantCulture, $" [{Name(stream)} {stream.Ending}{(stream.Hung ? " hung" : string.Empty)} {stream.Exception?.GetType().Name} yielded {stream.Yielded.Count}: ");
            _ = text.AppendJoin(", ", stream.Script.Select(Step));
            _ = text.Append(']');
        }

        return text.ToString();
    }

    private static string Step(FuzzStep step) => step.Kind switch
    {
        FuzzStepKind.Update => Summary(step.Build!()),
        FuzzStepKind.Hang => step.HonoursCancellation ? "hang" : "hang(deaf)",
        _ => $"{step.Kind}({step.Exception?.GetType().Name})",
    } + (step.Async ? "~" : string.Empty);

    private static string Summary(ChatResponseUpdate update)
    {
        string contents = string.Join("+", update.Contents.Select(c => c switch
        {
            TextContent t => t.Text.Length > 20 ? $"text[{t.Text.Length}]" : $"'{t.Text}'",
            ErrorContent e => $"error:{e.ErrorCode}",
            _ => c.GetType().Name.Replace("Content", string.Empty, StringComparison.Ordinal),
        }));
        return (update.FinishReason is { } reason ? $"finish:{reason}" : string.Empty) + (contents.Length > 0 ? contents : update.Role is null ? "empty" : "role");
    }
}
