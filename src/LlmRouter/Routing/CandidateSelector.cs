using Microsoft.Extensions.AI;

namespace LlmRouter;

/// <summary>The candidate filter and the strategy: which endpoints may serve a request, and in which order.</summary>
internal sealed class CandidateSelector
{
    private readonly RouterEndpoint[] _endpoints;
    private readonly IRoutingStrategy _strategy;
    private readonly TimeProvider _timeProvider;
    private readonly HashSet<string> _groups = new(StringComparer.OrdinalIgnoreCase);

    public CandidateSelector(RouterEndpoint[] endpoints, IRoutingStrategy strategy, TimeProvider timeProvider)
    {
        _endpoints = endpoints;
        _strategy = strategy;
        _timeProvider = timeProvider;
        foreach (RouterEndpoint endpoint in endpoints)
        {
            if (endpoint.Options.Group is { } group)
            {
                _ = _groups.Add(group);
            }
        }
    }

    public RoutedRequest Select(ChatOptions? options)
    {
        string? group = null;
        ChatOptions? forwarded = options;
        if (options is not null)
        {
            RoutingHints? hints = options.GetRoutingHints();
            bool modelIsGroup = options.ModelId is { } modelId && _groups.Contains(modelId);
            group = hints?.Group ?? (modelIsGroup ? options.ModelId : null);
            if (hints is not null || modelIsGroup)
            {
                // Endpoints must see neither our hints nor a group alias posing as a model name.
                forwarded = options.Clone();
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
            }
        }

        RouterEndpoint[] candidates = Filter(group);
        _strategy.Order(candidates);
        MoveCoolingDownToEnd(candidates, _timeProvider.GetTimestamp());
        return new RoutedRequest(candidates, forwarded);
    }

    private RouterEndpoint[] Filter(string? group)
    {
        if (group is null)
        {
            return (RouterEndpoint[])_endpoints.Clone();
        }

        int count = 0;
        foreach (RouterEndpoint endpoint in _endpoints)
        {
            if (string.Equals(endpoint.Options.Group, group, StringComparison.OrdinalIgnoreCase))
            {
                count++;
            }
        }

        if (count == 0)
        {
            throw new NoEndpointAvailableException(
                $"No endpoint serves group '{group}'. Groups configured: {(_groups.Count == 0 ? "none" : string.Join(", ", _groups))}. " +
                "Set EndpointOptions.Group on an endpoint, or name a configured group.");
        }

        var candidates = new RouterEndpoint[count];
        int next = 0;
        foreach (RouterEndpoint endpoint in _endpoints)
        {
            if (string.Equals(endpoint.Options.Group, group, StringComparison.OrdinalIgnoreCase))
            {
                candidates[next++] = endpoint;
            }
        }

        return candidates;
    }

    /// <summary>Keeps the strategy's order among endpoints that are not cooling down, and puts those that are after them, soonest recovery first.</summary>
    private static void MoveCoolingDownToEnd(RouterEndpoint[] candidates, long now)
    {
        // Each deadline is read once: another request may extend it while we sort.
        Span<long> keys = candidates.Length <= 64 ? stackalloc long[candidates.Length] : new long[candidates.Length];
        bool anyCooling = false;
        for (int i = 0; i < candidates.Length; i++)
        {
            long deadline = candidates[i].Cooldown.Deadline;
            anyCooling |= deadline > now;
            keys[i] = deadline > now ? deadline : long.MinValue;
        }

        if (!anyCooling)
        {
            return;
        }

        // Stable insertion sort: ready endpoints keep the strategy's order; the list is short.
        for (int i = 1; i < candidates.Length; i++)
        {
            long key = keys[i];
            RouterEndpoint endpoint = candidates[i];
            int j = i - 1;
            while (j >= 0 && keys[j] > key)
            {
                keys[j + 1] = keys[j];
                candidates[j + 1] = candidates[j];
                j--;
            }

            keys[j + 1] = key;
            candidates[j + 1] = endpoint;
        }
    }
}
