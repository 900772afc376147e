using Microsoft.Extensions.AI;

namespace LlmRouter;

/// <summary>
/// The group part of the candidate filter: which endpoints a request's group (from its routing hints, or a model id
/// that names a group) allows, and the options endpoints receive, without the router's hints or a group alias.
/// </summary>
internal sealed class GroupFilter
{
    private readonly RouterEndpoint[] _endpoints;
    private HashSet<string> _groups = [];

    public GroupFilter(RouterEndpoint[] endpoints)
    {
        _endpoints = endpoints;
        Refresh();
    }

    /// <summary>Re-reads the endpoints' groups; called when the options change at run time.</summary>
    public void Refresh()
    {
        var groups = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (RouterEndpoint endpoint in _endpoints)
        {
            if (endpoint.Options.Group is { } group)
            {
                _ = groups.Add(group);
            }
        }

        Volatile.Write(ref _groups, groups);
    }

    /// <summary>The options to pass to endpoints, and the group the request names, if any.</summary>
    public ChatOptions? Forwarded(ChatOptions? options, out string? group)
    {
        group = null;
        if (options is null)
        {
            return null;
        }

        RoutingHints? hints = options.GetRoutingHints();
        bool modelIsGroup = options.ModelId is { } modelId && Volatile.Read(ref _groups).Contains(modelId);
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

    /// <summary>The endpoints the group allows: all of them when the request names none.</summary>
    /// <exception cref="NoEndpointAvailableException">No endpoint serves the group.</exception>
    public RouterEndpoint[] Filter(string? group)
    {
        if (group is null)
        {
            return _endpoints; // read-only from here on
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
                $"No endpoint serves group '{group}'. Groups configured: {(_groups.Count == 0 ? "none" : string.Join(", ", _groups.Order(StringComparer.OrdinalIgnoreCase)))}. " +
                "Set EndpointOptions.Group on an endpoint, or name a configured group.");
        }

        return [.. candidates];
    }
}
