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
    private readonly HashSet<string> _groups = new(StringComparer.OrdinalIgnoreCase);

    public CandidateSelector(RouterEndpoint[] endpoints, RouterRuntime runtime, Func<IRoutingStrategy> strategy)
    {
        _endpoints = endpoints;
        _runtime = runtime;
        _strategy = strategy;
        foreach (RouterEndpoint endpoint in endpoints)
        {
            if (endpoint.Options.Group is { } group)
            {
                _ = _groups.Add(group);
            }
        }
    }

    /// <summary>Plans a request; when every candidate is open, waits for the earliest recovery up to <see cref="HealthOptions.AllOpenMaxWait"/>.</summary>
    /// <exception cref="NoEndpointAvailableException">No endpoint serves the group, or every one stayed open past the wait.</exception>
    public ValueTask<RoutedRequest> SelectAsync(IList<ChatMessage> messages, ChatOptions? options, bool streaming, CancellationToken cancellationToken)
    {
        ChatOptions? forwarded = Forwarded(options, out string? group);
        RouterEndpoint[] candidates = Filter(group);
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

            // Wake at the earliest break's end, or when any candidate's health changes (a probe's outcome).
            long wakeAt = deadline;
            var changes = new List<Task>(candidates.Length + 1);
            foreach (RouterEndpoint endpoint in candidates)
            {
                HealthStatus status = endpoint.Health.Status;
                if (status.State == HealthState.Open && status.OpenUntil > now)
                {
                    wakeAt = Math.Min(wakeAt, status.OpenUntil);
                }

                changes.Add(endpoint.Health.Changed);
            }

            using (var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                changes.Add(Task.Delay(time.GetElapsedTime(now, wakeAt), time, stop.Token));
                _ = await Task.WhenAny(changes).ConfigureAwait(false);
                await stop.CancelAsync().ConfigureAwait(false);
            }

            cancellationToken.ThrowIfCancellationRequested();
            RoutedRequest request = Plan(candidates, messages, forwarded, streaming);
            if (request.Candidates.Length > 0)
            {
                return request;
            }
        }
    }

    private RoutedRequest Plan(RouterEndpoint[] candidates, IList<ChatMessage> messages, ChatOptions? forwarded, bool streaming)
    {
        long now = _runtime.TimeProvider.GetTimestamp();
        IRoutingStrategy strategy = _strategy();
        int count = candidates.Length;
        var scores = new CandidateScore[count];
        for (int i = 0; i < count; i++)
        {
            scores[i] = new CandidateScore(candidates[i].Name, candidates[i].Health.StateAt(now));
        }

        double[] keys = new double[count];
        strategy.Rank(candidates, scores, keys, new RoutingRequest(messages, forwarded, streaming, now));

        int[] order = new int[count];
        for (int i = 0; i < count; i++)
        {
            order[i] = i;
        }

        Array.Sort(order, (x, y) =>
        {
            int byKey = keys[x].CompareTo(keys[y]);
            if (byKey != 0)
            {
                return byKey;
            }

            int byPriority = candidates[x].Options.Priority.CompareTo(candidates[y].Options.Priority);
            return byPriority != 0 ? byPriority : candidates[x].Index.CompareTo(candidates[y].Index);
        });

        string reason = strategy.Criterion;
        if (strategy.Explores && count > 1)
        {
            reason = Explore(order, candidates) ?? reason;
        }

        var plan = new List<RouterEndpoint>(count);
        var demoted = new List<RouterEndpoint>();
        var cooling = new List<RouterEndpoint>();
        HealthOptions health = _runtime.Options.Health;
        long frequency = _runtime.TimeProvider.TimestampFrequency;
        foreach (int index in order)
        {
            RouterEndpoint endpoint = candidates[index];
            switch (endpoint.Health.StateAt(now))
            {
                case HealthState.Open:
                    continue; // no traffic until its break ends
                case HealthState.HalfOpen:
                    if (endpoint.Health.ProbeInFlight)
                    {
                        continue;
                    }

                    // The next request probes it, with the rest of the plan behind it as failover.
                    plan.Insert(0, endpoint);
                    reason = "probe of half-open endpoint";
                    continue;
            }

            if (endpoint.Cooldown.IsCoolingDown(now))
            {
                cooling.Add(endpoint);
                continue;
            }

            double share = endpoint.Health.FirstChoiceShare(now, health, frequency);
            if (share < 1 && _runtime.Random() >= share)
            {
                demoted.Add(endpoint); // degraded (canary share) or ramping up after recovery
                continue;
            }

            plan.Add(endpoint);
        }

        if (plan.Count == 0 && demoted.Count > 0)
        {
            reason = "only degraded or ramping endpoints left";
        }

        plan.AddRange(demoted);
        cooling.Sort(static (a, b) => a.Cooldown.Deadline.CompareTo(b.Cooldown.Deadline));
        if (plan.Count == 0 && cooling.Count > 0)
        {
            reason = "only rate-limited endpoints left, soonest recovery first";
        }

        plan.AddRange(cooling);
        for (int rank = 0; rank < plan.Count; rank++)
        {
            scores[Array.IndexOf(candidates, plan[rank])].Rank = rank;
        }

        RouterEndpoint[] ordered = [.. plan];
        var decision = new RoutingDecision(scores) { Reason = ordered.Length > 0 ? $"{ordered[0].Name}: {reason}" : "every candidate is open" };
        return new RoutedRequest(ordered, forwarded, decision);
    }

    /// <summary>Now and then puts another candidate first to keep learning: one with too few attempts if any, else any other.</summary>
    private string? Explore(int[] order, RouterEndpoint[] candidates)
    {
        ScoringOptions scoring = _runtime.Options.Scoring;

        // While the leader itself is unmeasured there is nothing to weigh it against: it gathers samples first.
        if (scoring.ExplorationShare <= 0 ||
            candidates[order[0]].Metrics.Snapshot.SampleCount < scoring.MinSamples ||
            _runtime.Random() >= scoring.ExplorationShare)
        {
            return null;
        }

        int pick = -1;
        int unexplored = 0;
        for (int position = 1; position < order.Length; position++)
        {
            if (candidates[order[position]].Metrics.Snapshot.SampleCount < scoring.MinSamples && _runtime.Random() * ++unexplored < 1)
            {
                pick = position; // reservoir sampling among the unexplored
            }
        }

        if (pick < 0)
        {
            pick = 1 + (int)(_runtime.Random() * (order.Length - 1));
            pick = Math.Min(pick, order.Length - 1);
        }

        int chosen = order[pick];
        Array.Copy(order, 0, order, 1, pick);
        order[0] = chosen;
        return "exploration";
    }

    private ChatOptions? Forwarded(ChatOptions? options, out string? group)
    {
        group = null;
        if (options is null)
        {
            return null;
        }

        RoutingHints? hints = options.GetRoutingHints();
        bool modelIsGroup = options.ModelId is { } modelId && _groups.Contains(modelId);
        group = hints?.Group ?? (modelIsGroup ? options.ModelId : null);
        if (hints is null && !modelIsGroup)
        {
            return options;
        }

        // Endpoints must see neither our hints nor a group alias posing as a model name.
        ChatOptions forwarded = options.Clone();
        if (modelIsGroup)
        {
            forwarded.ModelId = null;
        }

        if (hints is not null)
        {
            forwarded.AdditionalProperties = forwarded.AdditionalProperties?.Clone();
            _ = forwarded.AdditionalProperties?.Remove(ChatOptionsRoutingExtensions.PropertyKey);
            if (forwarded.AdditionalProperties is { Count: 0 })
            {
                forwarded.AdditionalProperties = null;
            }
        }

        return forwarded;
    }

    private RouterEndpoint[] Filter(string? group)
    {
        if (group is null)
        {
            return (RouterEndpoint[])_endpoints.Clone();
        }

        var candidates = new List<RouterEndpoint>(_endpoints.Length);
        foreach (RouterEndpoint endpoint in _endpoints)
        {
            if (string.Equals(endpoint.Options.Group, group, StringComparison.OrdinalIgnoreCase))
            {
                candidates.Add(endpoint);
            }
        }

        if (candidates.Count == 0)
        {
            throw new NoEndpointAvailableException(
                $"No endpoint serves group '{group}'. Groups configured: {(_groups.Count == 0 ? "none" : string.Join(", ", _groups))}. " +
                "Set EndpointOptions.Group on an endpoint, or name a configured group.");
        }

        return [.. candidates];
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
