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

    public CandidateSelector(RouterEndpoint[] endpoints, RouterRuntime runtime, Func<IRoutingStrategy> strategy)
    {
        _endpoints = endpoints;
        _runtime = runtime;
        _strategy = strategy;
        _groups = new GroupFilter(endpoints);
    }

    /// <summary>Re-reads the endpoints' groups; called when the options change at run time.</summary>
    public void RefreshGroups() => _groups.Refresh();

    /// <summary>Plans a request; when every candidate is open, waits for the earliest recovery up to <see cref="HealthOptions.AllOpenMaxWait"/>.</summary>
    /// <exception cref="NoEndpointAvailableException">No endpoint serves the group, or every one stayed open past the wait.</exception>
    public ValueTask<RoutedRequest> SelectAsync(IList<ChatMessage> messages, ChatOptions? options, bool streaming, CancellationToken cancellationToken)
    {
        ChatOptions? forwarded = _groups.Forwarded(options, out string? group);
        RouterEndpoint[] candidates = _groups.Filter(group);
        RoutedRequest request = Plan(candidates, messages, forwarded, streaming);
        return request.Candidates.Length > 0
            ? ValueTask.FromResult(request)
            : WaitForRecoveryAsync(candidates, messages, forwarded, streaming, cancellationToken);
    }

    private async ValueTask<RoutedRequest> WaitForRecoveryAsync(
        RouterEndpoint[] candidates, IList<ChatMessage> messages, ChatOptions? forwarded, bool streaming, CancellationToken cancellationToken)
    {
        TimeProvider time = _runtime.TimeProvider;
        long deadline = time.GetTimestamp() + ToTicks(_runtime.Options.Health.AllOpenMaxWait);
        while (true)
        {
            long now = time.GetTimestamp();
            if (now >= deadline)
            {
                throw AllOpen(candidates, now);
            }

            // Wake at the earliest break's end, or when any candidate's health changes (a probe's outcome). The
            // change signals are taken before planning, so that a change between the plan and the wait is not lost.
            long wakeAt = deadline;
            var changes = new List<Task>(candidates.Length + 1);
            foreach (RouterEndpoint endpoint in candidates)
            {
                changes.Add(endpoint.Health.Changed);
                HealthStatus status = endpoint.Health.Status;
                if (status.State == HealthState.Open && status.OpenUntil > now)
                {
                    wakeAt = Math.Min(wakeAt, status.OpenUntil);
                }
            }

            RoutedRequest request = Plan(candidates, messages, forwarded, streaming);
            if (request.Candidates.Length > 0)
            {
                return request;
            }

            using (var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                changes.Add(Task.Delay(time.GetElapsedTime(now, wakeAt), time, stop.Token));
                _ = await Task.WhenAny(changes).ConfigureAwait(false);
#pragma warning disable CA1849 // Cancelling a timer is cheap; CancelAsync would hop to the thread pool.
                stop.Cancel();
#pragma warning restore CA1849
            }

            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    private RoutedRequest Plan(RouterEndpoint[] candidates, IList<ChatMessage> messages, ChatOptions? forwarded, bool streaming)
    {
        long now = _runtime.TimeProvider.GetTimestamp();
        IRoutingStrategy strategy = _strategy();
        int count = candidates.Length;
        var entries = new CandidateEntry[count];
        for (int i = 0; i < count; i++)
        {
            entries[i] = new CandidateEntry(candidates[i], candidates[i].Health.StateAt(now));
        }

        strategy.Rank(entries, new RoutingRequest(messages, forwarded, streaming, now));

        // Entries stay in registration order (as the explanation lists them); the plan order is an index permutation,
        // sorted without copying the entries around.
        Span<int> order = count <= StackLimit ? stackalloc int[count] : new int[count];
        for (int i = 0; i < count; i++)
        {
            order[i] = i;
        }

        SortByKey(order, entries);
        string why = strategy.Criterion;
        if (strategy.Explores && count > 1 && Explore(order, entries))
        {
            why = "exploration";
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
        foreach (ref CandidateEntry entry in entries.AsSpan())
        {
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
        }

        var plan = new RouterEndpoint[included];
        int rank = 0;
        for (PlanGroup group = PlanGroup.Probe; group < PlanGroup.Excluded; group++)
        {
            if (group == PlanGroup.Cooling && anyCooling)
            {
                SortByCooldown(order, entries); // soonest recovery first among the rate-limited
            }

            foreach (int index in order)
            {
                ref CandidateEntry entry = ref entries[index];
                if (entry.Group == group)
                {
                    entry.Rank = rank;
                    plan[rank++] = entry.Endpoint;
                }
            }
        }

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
        else if (included > 0 && !ReferenceEquals(plan[0], entries[order[0]].Endpoint))
        {
            // The strategy's first choice was passed over by the health pass: say why, not "highest score".
            why = string.Concat("next after ", entries[order[0]].Endpoint.Name, Passed(entries[order[0]].Group));
        }

        var decision = new RoutingDecision(entries, included > 0 ? plan[0].Name : null, included > 0 ? why : "every candidate is open");
        return new RoutedRequest(plan, forwarded, decision);
    }

    /// <summary>Insertion sort of the plan order by key, then priority, then registration: few candidates, no copies of entries.</summary>
    private static void SortByKey(Span<int> order, CandidateEntry[] entries)
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
    private static void SortByCooldown(Span<int> order, CandidateEntry[] entries)
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

    private static string Passed(PlanGroup group) => group switch
    {
        PlanGroup.Demoted => ", which is degraded or ramping up and was not drawn for its share of first choices",
        PlanGroup.Cooling => ", which is rate-limited",
        _ => ", which is open",
    };

    /// <summary>Now and then puts another candidate first to keep learning: one with too few attempts if any, else any other.</summary>
    private bool Explore(Span<int> order, CandidateEntry[] entries)
    {
        ScoringOptions scoring = _runtime.Options.Scoring;

        // While the leader itself is unmeasured there is nothing to weigh it against: it gathers samples first.
        if (scoring.ExplorationShare <= 0 ||
            entries[order[0]].Endpoint.Metrics.Snapshot.SampleCount < scoring.MinSamples ||
            _runtime.Random() >= scoring.ExplorationShare)
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

    private NoEndpointAvailableException AllOpen(RouterEndpoint[] candidates, long now)
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

        _ = text.Append(" Retry later, or add endpoints to the group.");
        return new NoEndpointAvailableException(text.ToString());
    }

    private long ToTicks(TimeSpan span) => (long)(span.TotalSeconds * _runtime.TimeProvider.TimestampFrequency);
}
