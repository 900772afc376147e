using System.Globalization;
using System.Text;
using Microsoft.Extensions.AI;

namespace LlmRouter;

/// <summary>
/// The candidate filter and the strategy: which endpoints may serve a request (group, health), and in which order
/// (strategy, exploration, canary shares, half-open probes, cool-downs).
/// </summary>
internal sealed class CandidateSelector
{
    private readonly RouterEndpoint[] _endpoints;
    private readonly RouterRuntime _runtime;
    private readonly Func<IRoutingStrategy> _strategy;
    private const int StackLimit = 128;
    private readonly GroupFilter _groups;
    private readonly ConstraintFilter _constraints;

    [ThreadStatic]
    private static CandidateEntry[]? t_entries;

    /// <summary>The latest decision made while every candidate was healthy, handed out again while nothing it was made from changed.</summary>
    private SteadyDecision? _steady;

    /// <summary>The latest decisions, handed out again while nothing they say changes.</summary>
    private readonly RecentDecisions _recent;

    public CandidateSelector(RouterEndpoint[] endpoints, RouterRuntime runtime, Func<IRoutingStrategy> strategy)
    {
        _endpoints = endpoints;
        _runtime = runtime;
        _strategy = strategy;
        _groups = new GroupFilter(endpoints);
        _constraints = new ConstraintFilter(runtime, endpoints);
        _recent = new RecentDecisions(endpoints.Length);
    }

    /// <summary>Re-reads the endpoints' groups; called when the options change at run time.</summary>
    public void RefreshGroups() => _groups.Refresh();

    /// <summary>Plans a request; when every candidate is open, waits for the earliest recovery up to <see cref="HealthOptions.AllOpenMaxWait"/>.</summary>
    /// <exception cref="NoEndpointAvailableException">
    /// No endpoint serves the group, the constraints exclude every one, or every one stayed open past the wait.
    /// </exception>
    public ValueTask<RoutedRequest> SelectAsync(IList<ChatMessage> messages, ChatOptions? options, bool streaming, CancellationToken cancellationToken)
    {
        ChatOptions? forwarded = _groups.Forwarded(options, out string? group);
        RoutingHints? hints = options?.AdditionalProperties is null ? null : options.GetRoutingHints();
        ConstrainedCandidates constrained = _constraints.Apply(_groups.Filter(group), messages, options, hints);
        if (constrained.Candidates.Length == 0)
        {
            return ConstraintFilter.AnyLimited(constrained.Exclusions)
                ? WaitForLimitsAsync(messages, options, hints, group, streaming, cancellationToken)
                : throw ConstraintFilter.NoneLeft(constrained.Exclusions!);
        }

        RoutedRequest request = Plan(constrained, messages, forwarded, streaming, hints);
        return request.Candidates.Length > 0
            ? ValueTask.FromResult(request)
            : WaitForRecoveryAsync(constrained, messages, forwarded, streaming, hints, cancellationToken);
    }

    /// <summary>
    /// After every attempt of a request failed: plans the request again on the endpoints it has not failed on (or that
    /// opened since, and may be probed), waiting, when none is available, for a break to end or another request's probe
    /// to succeed, up to <paramref name="deadline"/>; <see langword="null"/> when none became available in time. Never
    /// probes early: the request just saw endpoints fail. An endpoint cooling down past the deadline does not count.
    /// </summary>
    /// <param name="messages">The request's messages.</param>
    /// <param name="options">The caller's options.</param>
    /// <param name="streaming">Whether the request streams.</param>
    /// <param name="deadline">Until when (a timestamp) to wait.</param>
    /// <param name="failedHere">Whether the request already failed on an endpoint.</param>
    /// <param name="cancellationToken">The caller's token.</param>
    public async ValueTask<RoutedRequest?> AwaitRecoveryAsync(
        IList<ChatMessage> messages, ChatOptions? options, bool streaming, long deadline, Func<RouterEndpoint, bool> failedHere, CancellationToken cancellationToken)
    {
        ChatOptions? forwarded = _groups.Forwarded(options, out string? group);
        RoutingHints? hints = options?.AdditionalProperties is null ? null : options.GetRoutingHints();
        ConstrainedCandidates constrained = _constraints.Apply(_groups.Filter(group), messages, options, hints);
        TimeProvider time = _runtime.TimeProvider;
        if (constrained.Candidates.Length == 0 || time.GetTimestamp() >= deadline)
        {
            return null;
        }

        // Left out: an endpoint the request failed on that is still closed (it would fail the same way), and one whose
        // cool-down outlasts the wait.
        bool Unusable(RouterEndpoint endpoint) =>
            (failedHere(endpoint) && endpoint.Health.Status.State != HealthState.Open) ||
            (endpoint.Cooldown.IsCoolingDown(time.GetTimestamp()) && endpoint.Cooldown.Deadline > deadline);

        return await WaitUntilRecoveredAsync(constrained, messages, forwarded, streaming, hints, deadline, Unusable, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>When a wait for a recovery that starts now ends: <see cref="HealthOptions.AllOpenMaxWait"/> from now.</summary>
    public long AllOpenDeadline() => _runtime.TimeProvider.GetTimestamp() + ToTicks(_runtime.Options.Health.AllOpenMaxWait);

    /// <summary>Every candidate left is at a rate or concurrency limit: waits for a minute to roll over or a slot to free, up to the limit wait.</summary>
    private async ValueTask<RoutedRequest> WaitForLimitsAsync(
        IList<ChatMessage> messages, ChatOptions? options, RoutingHints? hints, string? group, bool streaming, CancellationToken cancellationToken)
    {
        TimeProvider time = _runtime.TimeProvider;
        long deadline = time.GetTimestamp() + ToTicks(_runtime.Options.Constraints.LimitMaxWait);
        while (true)
        {
            // The release signals are taken before filtering, so that a release in between is not lost.
            var wakes = new List<Task>();
            long wakeAt = deadline;
            foreach (RouterEndpoint endpoint in _groups.Filter(group))
            {
                if (endpoint.Limits is { Any: true } limits)
                {
                    wakes.Add(limits.Released);
                    wakeAt = Math.Min(wakeAt, limits.WindowEndsAt);
                }
            }

            ConstrainedCandidates constrained = _constraints.Apply(_groups.Filter(group), messages, options, hints);
            if (constrained.Candidates.Length > 0)
            {
                ChatOptions? forwarded = _groups.Forwarded(options, out _);
                RoutedRequest request = Plan(constrained, messages, forwarded, streaming, hints);
                return request.Candidates.Length > 0
                    ? request
                    : await WaitForRecoveryAsync(constrained, messages, forwarded, streaming, hints, cancellationToken).ConfigureAwait(false);
            }

            long now = time.GetTimestamp();
            if (!ConstraintFilter.AnyLimited(constrained.Exclusions))
            {
                throw ConstraintFilter.NoneLeft(constrained.Exclusions!);
            }

            if (now >= deadline)
            {
                throw _constraints.LimitsReached(constrained.Exclusions!);
            }

            using (var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                wakes.Add(Task.Delay(time.GetElapsedTime(now, Math.Max(now, wakeAt)), time, stop.Token));
                _ = await Task.WhenAny(wakes).ConfigureAwait(false);
#pragma warning disable CA1849 // Cancelling a timer is cheap; CancelAsync would hop to the thread pool.
                stop.Cancel();
#pragma warning restore CA1849
            }

            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>Every candidate is open: waits for one to recover, up to <see cref="HealthOptions.AllOpenMaxWait"/>, and plans it.</summary>
    /// <exception cref="NoEndpointAvailableException">None recovered in time.</exception>
    private async ValueTask<RoutedRequest> WaitForRecoveryAsync(
        ConstrainedCandidates constrained, IList<ChatMessage> messages, ChatOptions? forwarded, bool streaming, RoutingHints? hints, CancellationToken cancellationToken) =>
        await WaitUntilRecoveredAsync(constrained, messages, forwarded, streaming, hints, AllOpenDeadline(), unusable: null, cancellationToken).ConfigureAwait(false)
        ?? throw new InvalidOperationException("A wait for a recovery ended without a plan."); // unreachable: it throws at its deadline

    /// <summary>
    /// Waits for a candidate to recover, up to <paramref name="deadline"/>, then throws (a new request) or returns
    /// <see langword="null"/> (after failures, when <paramref name="unusable"/> is set: the request's own failures are
    /// its outcome). After failures, the plan leaves out what <paramref name="unusable"/> says, and the wait never probes
    /// early and wakes only on recoveries and breaks' ends.
    /// </summary>
    private async ValueTask<RoutedRequest?> WaitUntilRecoveredAsync(
        ConstrainedCandidates constrained,
        IList<ChatMessage> messages,
        ChatOptions? forwarded,
        bool streaming,
        RoutingHints? hints,
        long deadline,
        Func<RouterEndpoint, bool>? unusable,
        CancellationToken cancellationToken)
    {
        bool afterFailures = unusable is not null;
        RouterEndpoint[] candidates = constrained.Candidates;
        TimeProvider time = _runtime.TimeProvider;
        while (true)
        {
            long now = time.GetTimestamp();
            if (now >= deadline)
            {
                return afterFailures ? null : throw AllOpen(candidates, constrained.Exclusions, now);
            }

            // Wake at the earliest break's end, or when any candidate's health changes (a probe's outcome). The
            // change signals are taken before planning, so that a change between the plan and the wait is not lost.
            long wakeAt = deadline;
            var changes = new List<Task>(candidates.Length + 1);
            foreach (RouterEndpoint endpoint in candidates)
            {
                // After failures, only a recovery (or a break's end, below) can make a plan: a request that waits then
                // is not woken by every failure and probe release of the endpoints it waits on.
                changes.Add(afterFailures ? endpoint.Health.Recovered : endpoint.Health.Changed);
                HealthStatus status = endpoint.Health.Status;
                if (status.State == HealthState.Open && status.OpenUntil > now)
                {
                    wakeAt = Math.Min(wakeAt, status.OpenUntil);
                }
            }

            RoutedRequest request = Plan(constrained, messages, forwarded, streaming, hints, probeEarly: !afterFailures);
            if (unusable is not null && Array.Exists(request.Candidates, endpoint => unusable(endpoint)))
            {
                RouterEndpoint[] usable = Array.FindAll(request.Candidates, endpoint => !unusable(endpoint));
                request = new RoutedRequest(
                    usable, request.Options, request.Decision, request.Conversation, request.Returning, request.ProbesEarly, request.RemembersConversation);
            }

            if (request.Candidates.Length > 0)
            {
                return request;
            }

            using (var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                // Task.Delay counts whole milliseconds: a shorter wait would complete at once, and this loop would
                // spin without the clock moving. Round up.
                TimeSpan wait = TimeSpan.FromMilliseconds(Math.Ceiling(time.GetElapsedTime(now, wakeAt).TotalMilliseconds));
                changes.Add(Task.Delay(wait, time, stop.Token));
                _ = await Task.WhenAny(changes).ConfigureAwait(false);
#pragma warning disable CA1849 // Cancelling a timer is cheap; CancelAsync would hop to the thread pool.
                stop.Cancel();
#pragma warning restore CA1849
            }

            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    private RoutedRequest Plan(in ConstrainedCandidates constrained, IList<ChatMessage> messages, ChatOptions? forwarded, bool streaming, RoutingHints? hints, bool probeEarly = true)
    {
        RouterEndpoint[] candidates = constrained.Candidates;
        int count = candidates.Length;

        // Conversation affinity: a pinned request (provider-held state) has its endpoint already. Only a returning turn
        // needs its key now; a first turn's is worked out after it succeeded, off the planning path.
        bool affine = _runtime.Options.Affinity.Enabled && constrained.PinReason is null;
        bool returning = affine && ConversationKey.IsReturning(messages, hints);
        ulong conversation = returning ? ConversationKey.Of(messages, hints, out _) : ConversationKey.None;

        // The steady case: every candidate healthy and nothing the latest such decision was made from changed (health,
        // snapshots, options, the request's size): hand it out again without ranking, after the exploration draw.
        IRoutingStrategy strategy = _strategy();
        LlmRouterOptions options = _runtime.Options; // read before deciding: a reload meanwhile makes the kept decision not hold
        long now = _runtime.TimeProvider.GetTimestamp();
        SteadyRanking steady = !returning && constrained.Exclusions is null && !constrained.Reorders && constrained.PinReason is null
            ? strategy.Steady
            : SteadyRanking.Never;
        int promptTokens = 0;
        double outputCap = double.NaN;
        double explorationDraw = double.NaN;
        if (steady != SteadyRanking.Never)
        {
            if (steady == SteadyRanking.SnapshotsAndRequestSize)
            {
                promptTokens = new RoutingRequest(messages, forwarded, streaming, now).EstimatePromptTokens();
                outputCap = forwarded?.MaxOutputTokens is { } max ? max : double.NaN;
            }

            if (Volatile.Read(ref _steady) is { } kept &&
                kept.Holds(candidates, options, strategy, streaming, promptTokens, outputCap, now) &&
                !(strategy.Explores && count > 1 && ExploresNow(kept.LeaderSnapshot, out explorationDraw)))
            {
                RouterEndpoint[] steadyPlan = constrained.NoFallbacks && kept.Decision.Plan.Length > 1 ? [kept.Decision.Plan[0]] : kept.Decision.Plan;
                return new RoutedRequest(steadyPlan, forwarded, kept.Decision, conversation, returning, false, affine);
            }
        }

        // The working entries live in a per-thread buffer: only what the explanation needs is copied out, into the
        // decision. Taken out while in use, so that a plan made on this thread meanwhile (a custom scorer calling a
        // router) works in a buffer of its own.
        CandidateEntry[]? buffer = t_entries;
        t_entries = null;
        if (buffer is null || buffer.Length < count)
        {
            buffer = new CandidateEntry[Math.Max(count, 8)];
        }

        // What a steady decision would be made from, read before deciding: a change meanwhile makes the kept one not hold.
        if (steady != SteadyRanking.Never && !SteadyDecision.Capture(candidates, now))
        {
            steady = SteadyRanking.Never;
        }

        Span<CandidateEntry> entries = buffer.AsSpan(0, count);
        RoutingDecision decision = Decide(
            constrained, entries, messages, forwarded, streaming, returning ? conversation : ConversationKey.None, strategy, now, explorationDraw, out bool reused, out bool explored);

        // Drop the references to endpoints, so that the buffer keeps no router alive.
        foreach (ref CandidateEntry entry in entries)
        {
            entry.Endpoint = null!;
        }

        t_entries = buffer;

        // Kept as the steady decision once it was made twice from the same (a decision made once may be a passing one).
        if (steady != SteadyRanking.Never)
        {
            if (reused && !explored && decision.Plan.Length == count)
            {
                Volatile.Write(ref _steady, SteadyDecision.FromCapture(candidates, options, strategy, streaming, promptTokens, outputCap, decision));
            }

            SteadyDecision.ReleaseCapture(count);
        }

        // No fallbacks: the first endpoint only (its own retries still apply); the decision still lists every candidate.
        RouterEndpoint[] plan = constrained.NoFallbacks && decision.Plan.Length > 1 ? [decision.Plan[0]] : decision.Plan;
        bool early = false;
        if (plan.Length == 0 && probeEarly && _runtime.Options.Health.ProbeEarlyWhenAllOpen && EarlyProbes(candidates) is { Length: > 0 } probes)
        {
            // Soonest to recover first; a failed probe fails over to the next like any attempt, paid from the retry budget.
            plan = constrained.NoFallbacks ? [probes[0]] : probes;
            early = true;
        }

        return new RoutedRequest(plan, forwarded, decision, conversation, returning, early, affine);
    }

    /// <summary>The exploration draw, as <see cref="Explore"/> makes it: whether this request explores (the draw is kept for it).</summary>
    private bool ExploresNow(EndpointSnapshot leader, out double draw)
    {
        ScoringOptions scoring = _runtime.Options.Scoring;
        if (scoring.ExplorationShare <= 0 || leader.SampleCount < scoring.MinSamples)
        {
            draw = double.NaN;
            return false;
        }

        draw = _runtime.Random();
        return draw < scoring.ExplorationShare;
    }

    private RoutingDecision Decide(
        in ConstrainedCandidates constrained,
        Span<CandidateEntry> entries,
        IList<ChatMessage> messages,
        ChatOptions? forwarded,
        bool streaming,
        ulong returningConversation,
        IRoutingStrategy strategy,
        long now,
        double explorationDraw,
        out bool reused,
        out bool explored)
    {
        RouterEndpoint[] candidates = constrained.Candidates;
        reused = false;
        explored = false;
        int count = candidates.Length;
        for (int i = 0; i < count; i++)
        {
            entries[i] = new CandidateEntry(candidates[i], candidates[i].Health.StateAt(now));
        }

        var routingRequest = new RoutingRequest(messages, forwarded, streaming, now);
        strategy.Rank(entries, routingRequest);
        string why = strategy.Criterion;
        if (constrained.Reorders)
        {
            why = CandidateOrder.Apply(entries, routingRequest, constrained, _runtime.Options.Scoring, _constraints) ?? why;
        }

        why = constrained.PinReason ?? why;

        // Entries stay in registration order (as the explanation lists them); the plan order is an index permutation,
        // sorted without copying the entries around.
        Span<int> order = count <= StackLimit ? stackalloc int[count] : new int[count];
        for (int i = 0; i < count; i++)
        {
            order[i] = i;
        }

        SortByKey(order, entries);
        if (returningConversation != ConversationKey.None && count > 1 && Affine(order, entries, returningConversation, now, constrained.Reorders, routingRequest))
        {
            why = "conversation affinity (the endpoint served the conversation's previous turn)";
        }
        else if (strategy.Explores && !constrained.Reorders && count > 1 && Explore(order, entries, explorationDraw))
        {
            why = "exploration";
            explored = true;
        }

        // Health pass: each candidate gets its group once (the canary draw is random), then the plan is laid out
        // group by group, keeping the strategy's order within each.
        HealthOptions health = _runtime.Options.Health;
        long frequency = _runtime.TimeProvider.TimestampFrequency;
        int included = 0;
        bool anyProbe = false;
        bool anyCanary = false;
        bool anyNormal = false;
        bool anyDemoted = false;
        bool anyCooling = false;
        bool scored = false;
        ulong packedHealth = 0;
        for (int i = 0; i < entries.Length; i++)
        {
            ref CandidateEntry entry = ref entries[i];
            RouterEndpoint endpoint = entry.Endpoint;
            entry.Group = entry.Health switch
            {
                HealthState.Open => PlanGroup.Excluded,
                HealthState.HalfOpen => endpoint.Health.ProbeInFlight ? PlanGroup.Excluded : PlanGroup.Probe,
                _ when endpoint.Cooldown.IsCoolingDown(now) => PlanGroup.Cooling,

                // A degraded endpoint keeps its canary share of first choices whatever its score, so that its
                // recovery is seen; an endpoint ramping up after recovery only loses first places it would have had.
                HealthState.Degraded => _runtime.Random() < health.CanaryShare ? PlanGroup.Canary : PlanGroup.Demoted,
                _ when endpoint.Health.FirstChoiceShare(now, health, frequency) is var share && share < 1 && _runtime.Random() >= share => PlanGroup.Demoted,
                _ => PlanGroup.Normal,
            };

            included += entry.Group == PlanGroup.Excluded ? 0 : 1;
            anyProbe |= entry.Group == PlanGroup.Probe;
            anyCanary |= entry.Group == PlanGroup.Canary;
            anyNormal |= entry.Group == PlanGroup.Normal;
            anyDemoted |= entry.Group == PlanGroup.Demoted;
            anyCooling |= entry.Group == PlanGroup.Cooling;
            scored |= entry.HasValues;
            if (i < RoutingDecision.PackedHealthLimit)
            {
                packedHealth |= (ulong)entry.Health << (2 * i);
            }
        }

        // The plan, as indices into the candidates.
        Span<int> plan = included <= StackLimit ? stackalloc int[included] : new int[included];
        int rank = 0;
        for (PlanGroup group = PlanGroup.Probe; group < PlanGroup.Excluded; group++)
        {
            bool present = group switch
            {
                PlanGroup.Probe => anyProbe,
                PlanGroup.Canary => anyCanary,
                PlanGroup.Normal => anyNormal,
                PlanGroup.Demoted => anyDemoted,
                _ => anyCooling,
            };
            if (!present)
            {
                continue; // nothing to lay out: spare the pass
            }

            if (group == PlanGroup.Cooling)
            {
                SortByCooldown(order, entries); // soonest recovery first among the rate-limited
            }

            foreach (int index in order)
            {
                if (entries[index].Group == group)
                {
                    plan[rank++] = index;
                }
            }
        }

        string? passedOver = null;
        PlanGroup passedGroup = PlanGroup.Normal;
        if (anyProbe)
        {
            why = "probe of half-open endpoint";
        }
        else if (anyCanary)
        {
            why = "canary request to a degraded endpoint";
        }
        else if (!anyNormal && anyDemoted)
        {
            why = "only degraded or ramping endpoints left";
        }
        else if (!anyNormal && included > 0)
        {
            why = "only rate-limited endpoints left, soonest recovery first";
        }
        else if (included > 0 && plan[0] != order[0])
        {
            // The strategy's first choice was passed over by the health pass: the reason says why, not "highest score".
            passedOver = entries[order[0]].Endpoint.Name;
            passedGroup = entries[order[0]].Group;
        }

        if (included == 0)
        {
            why = "every candidate is open";
        }

        // An immutable decision that says exactly the same as the latest one is handed out again: in a steady state
        // (same health, same scores, same order) choosing an endpoint allocates nothing.
        RoutingDecision? latest = _recent.Latest(plan, candidates);
        if (latest is not null && constrained.Exclusions is null && latest.Describes(candidates, entries, plan, scored, packedHealth, why, passedOver, passedGroup))
        {
            reused = true;
            return latest;
        }

        RouterEndpoint[] planned;
        if (included == 0)
        {
            planned = [];
        }
        else if (latest is not null && latest.SamePlan(plan, candidates))
        {
            planned = latest.Plan; // never written to, so shared
        }
        else
        {
            planned = new RouterEndpoint[included];
            for (int i = 0; i < included; i++)
            {
                planned[i] = candidates[plan[i]];
            }
        }

        double[]? values = null;
        if (scored)
        {
            values = new double[count * RoutingDecision.ValuesPerCandidate];
            for (int i = 0, j = 0; i < count; i++, j += RoutingDecision.ValuesPerCandidate)
            {
                ref CandidateEntry entry = ref entries[i];
                values[j] = entry.Score;
                values[j + 1] = entry.Latency;
                values[j + 2] = entry.Cost;
                values[j + 3] = entry.Success;
                values[j + 4] = entry.Custom;
                values[j + 5] = entry.EstimatedCost;
            }
        }

        byte[]? manyHealth = null;
        if (count > RoutingDecision.PackedHealthLimit)
        {
            manyHealth = new byte[count];
            for (int i = 0; i < count; i++)
            {
                manyHealth[i] = (byte)entries[i].Health;
            }

            packedHealth = 0;
        }

        var decision = new RoutingDecision(candidates, planned, values, packedHealth, manyHealth, why, passedOver, passedGroup, constrained.Exclusions);
        if (constrained.Exclusions is null)
        {
            _recent.Remember(plan, candidates, decision); // a decision with exclusions speaks for its request only
        }

        return decision;
    }

    /// <summary>Every candidate is open: those without a probe in flight, soonest break's end first.</summary>
    private static RouterEndpoint[] EarlyProbes(RouterEndpoint[] candidates)
    {
        var probes = new List<RouterEndpoint>(candidates.Length);
        foreach (RouterEndpoint endpoint in candidates)
        {
            if (endpoint.Health.Status.State == HealthState.Open && !endpoint.Health.ProbeInFlight)
            {
                probes.Add(endpoint);
            }
        }

        probes.Sort(static (x, y) => x.Health.Status.OpenUntil.CompareTo(y.Health.Status.OpenUntil));
        return [.. probes];
    }

    /// <summary>Insertion sort of the plan order by key, then priority, then registration: few candidates, no copies of entries.</summary>
    private static void SortByKey(Span<int> order, Span<CandidateEntry> entries)
    {
        for (int i = 1; i < order.Length; i++)
        {
            int current = order[i];
            int j = i - 1;
            while (j >= 0 && Compare(ref entries[order[j]], ref entries[current]) > 0)
            {
                order[j + 1] = order[j];
                j--;
            }

            order[j + 1] = current;
        }

        static int Compare(ref CandidateEntry x, ref CandidateEntry y)
        {
            int byKey = x.Key.CompareTo(y.Key);
            if (byKey != 0)
            {
                return byKey;
            }

            int byPriority = x.Endpoint.Options.Priority.CompareTo(y.Endpoint.Options.Priority);
            return byPriority != 0 ? byPriority : x.Endpoint.Index.CompareTo(y.Endpoint.Index);
        }
    }

    /// <summary>Moves rate-limited candidates into the order of their recovery, leaving every other candidate where it was.</summary>
    private static void SortByCooldown(Span<int> order, Span<CandidateEntry> entries)
    {
        for (int i = 1; i < order.Length; i++)
        {
            int current = order[i];
            if (entries[current].Group != PlanGroup.Cooling)
            {
                continue;
            }

            long deadline = entries[current].Endpoint.Cooldown.Deadline;
            int j = i - 1;
            int target = i;
            while (j >= 0)
            {
                ref CandidateEntry before = ref entries[order[j]];
                if (before.Group == PlanGroup.Cooling)
                {
                    if (before.Endpoint.Cooldown.Deadline <= deadline)
                    {
                        break;
                    }

                    target = j;
                }

                j--;
            }

            if (target != i)
            {
                // Rotate the cooling entry back to its place; non-cooling entries in between keep their relative order,
                // and they are laid out in another group anyway.
                order.Slice(target, i - target).CopyTo(order.Slice(target + 1));
                order[target] = current;
            }
        }
    }

    /// <summary>
    /// Puts the endpoint that served the conversation's previous turn first, unless the request's own order pushed it back
    /// (over its preferred latency, past its budget's soft threshold), or, when the strategy priced the candidates, staying
    /// would cost more than the cheapest other candidate even with the conversation so far read from the endpoint's prompt
    /// cache. The health pass still demotes it when it is unfit.
    /// </summary>
    private bool Affine(Span<int> order, Span<CandidateEntry> entries, ulong conversation, long now, bool reordered, in RoutingRequest request)
    {
        if (_runtime.Conversations.Lookup(conversation, now) is not { } previous)
        {
            return false;
        }

        for (int position = 0; position < order.Length; position++)
        {
            ref CandidateEntry entry = ref entries[order[position]];
            if (!string.Equals(entry.Endpoint.Name, previous, StringComparison.Ordinal))
            {
                continue;
            }

            if (reordered && CandidateOrder.PushedBack(entry.Key))
            {
                return false;
            }

            if (!double.IsNaN(entry.EstimatedCost) && !CheapestToStay(entries, ref entry, request))
            {
                return false;
            }

            int chosen = order[position];
            order[..position].CopyTo(order[1..]);
            order[0] = chosen;
            return true;
        }

        return false; // excluded for this request, or no longer registered
    }

    /// <summary>
    /// Whether the previous turn's endpoint, pricing the conversation so far at its cached-input price, costs no more than
    /// the cheapest other candidate at the price the strategy estimated for it.
    /// </summary>
    private static bool CheapestToStay(Span<CandidateEntry> entries, ref CandidateEntry stay, in RoutingRequest request)
    {
        RouterEndpoint.Prices prices = stay.Endpoint.PerToken;
        int promptTokens = request.EstimatePromptTokens();
        double observed = prices.EffectiveInput(stay.Endpoint.Metrics.Snapshot.CachedInputRatioValue);
        double share = CachedPrefixShare(request.Messages);
        double staying = stay.EstimatedCost - (promptTokens * observed) + (promptTokens * (((1 - share) * prices.Input) + (share * prices.CachedInput)));
        foreach (ref CandidateEntry other in entries)
        {
            if (!ReferenceEquals(other.Endpoint, stay.Endpoint) && !double.IsNaN(other.EstimatedCost) && other.EstimatedCost < staying)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The share of the request's text up to its latest assistant message: what the previous turn's endpoint has in its prompt cache.</summary>
    private static double CachedPrefixShare(IList<ChatMessage> messages)
    {
        long total = 0;
        long prefix = 0;
        for (int i = 0; i < messages.Count; i++)
        {
            IList<AIContent> contents = messages[i].Contents;
            for (int j = 0; j < contents.Count; j++)
            {
                if (contents[j] is TextContent text)
                {
                    total += text.Text?.Length ?? 0;
                }
            }

            if (messages[i].Role == ChatRole.Assistant)
            {
                prefix = total;
            }
        }

        return total == 0 ? 0 : prefix / (double)total;
    }

    /// <summary>Now and then puts another candidate first to keep learning: one with too few attempts if any, else any other.</summary>
    /// <param name="order">The strategy's order, changed in place when exploring.</param>
    /// <param name="entries">The ranked candidates.</param>
    /// <param name="draw">The exploration draw when the steady check already made it; NaN to draw here.</param>
    private bool Explore(Span<int> order, Span<CandidateEntry> entries, double draw)
    {
        ScoringOptions scoring = _runtime.Options.Scoring;

        // While the leader itself is unmeasured there is nothing to weigh it against: it gathers samples first.
        if (scoring.ExplorationShare <= 0 ||
            entries[order[0]].Endpoint.Metrics.Snapshot.SampleCount < scoring.MinSamples ||
            (double.IsNaN(draw) ? _runtime.Random() : draw) >= scoring.ExplorationShare)
        {
            return false;
        }

        int pick = -1;
        int unexplored = 0;
        for (int position = 1; position < order.Length; position++)
        {
            if (entries[order[position]].Endpoint.Metrics.Snapshot.SampleCount < scoring.MinSamples && _runtime.Random() * ++unexplored < 1)
            {
                pick = position; // reservoir sampling among the unexplored
            }
        }

        if (pick < 0)
        {
            pick = Math.Min(1 + (int)(_runtime.Random() * (order.Length - 1)), order.Length - 1);
        }

        int chosen = order[pick];
        order[..pick].CopyTo(order[1..]);
        order[0] = chosen;
        return true;
    }

    private NoEndpointAvailableException AllOpen(RouterEndpoint[] candidates, EndpointExclusion[]? exclusions, long now)
    {
        TimeProvider time = _runtime.TimeProvider;
        var text = new StringBuilder("Every candidate endpoint is open (failing) and none recovered within Health:AllOpenMaxWait (")
            .Append(_runtime.Options.Health.AllOpenMaxWait.ToString("c", CultureInfo.InvariantCulture)).Append("):");
        foreach (RouterEndpoint endpoint in candidates)
        {
            HealthStatus status = endpoint.Health.Status;
            _ = text.Append(CultureInfo.InvariantCulture, $" {endpoint.Name} is {endpoint.Health.StateAt(now)}");
            if (status.State == HealthState.Open && status.OpenUntil > now)
            {
                _ = text.Append(CultureInfo.InvariantCulture, $", may be probed at {time.GetUtcNow() + time.GetElapsedTime(now, status.OpenUntil):O}");
            }
            else if (status.State == HealthState.Open)
            {
                _ = text.Append(", a probe is in flight");
            }

            _ = text.Append(';');
        }

        foreach (EndpointExclusion exclusion in exclusions ?? [])
        {
            _ = text.Append(CultureInfo.InvariantCulture, $" {exclusion.Endpoint} excluded by {exclusion.Reason} ({exclusion.Detail});");
        }

        _ = text.Append(" Retry later, or add endpoints to the group.");
        List<EndpointExclusion> all = [.. exclusions ?? []];
        foreach (RouterEndpoint endpoint in candidates)
        {
            all.Add(new EndpointExclusion(endpoint.Name, ExclusionReason.Health, $"{endpoint.Health.StateAt(now)}"));
        }

        return new NoEndpointAvailableException(text.ToString()) { Exclusions = all };
    }

    private long ToTicks(TimeSpan span) => (long)(span.TotalSeconds * _runtime.TimeProvider.TimestampFrequency);
}
