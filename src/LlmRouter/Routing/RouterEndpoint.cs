using Microsoft.Extensions.AI;

namespace LlmRouter;

/// <summary>One endpoint as the router holds it: name, client, settings, and what the router learns about it.</summary>
internal sealed class RouterEndpoint
{
    private EndpointOptions _options;
    private Prices _prices;
    private double _lastScore = double.NaN;

    public RouterEndpoint(string name, IChatClient client, EndpointOptions options, int index, bool ownsClient, int metricsCapacity = 1024)
    {
        Name = name;
        Client = client;
        _options = options;
        _prices = new Prices(options);
        Index = index;
        OwnsClient = ownsClient;
        Metrics = new EndpointMetrics(name, metricsCapacity, DateTimeOffset.UnixEpoch);
        Spending = new BudgetAccount(BudgetScopes.Endpoint, name);
    }

    public string Name { get; }

    public IChatClient Client { get; }

    /// <summary>Gets or sets the settings; replaced when the options change at run time.</summary>
    public EndpointOptions Options
    {
        get => Volatile.Read(ref _options);
        set
        {
            Volatile.Write(ref _prices, new Prices(value));
            Volatile.Write(ref _options, value);
        }
    }

    /// <summary>Gets the prices per token as doubles: decimal arithmetic is too slow for scoring every candidate of every request.</summary>
    public Prices PerToken => Volatile.Read(ref _prices);

    /// <summary>Gets the registration order, the tie-breaker of every ordering.</summary>
    public int Index { get; }

    /// <summary>Gets a value indicating whether the router created the client and so disposes it.</summary>
    public bool OwnsClient { get; }

    /// <summary>Gets the rate-limit cool-down (Retry-After); deadlines only move later.</summary>
    public EndpointCooldown Cooldown { get; } = new();

    public EndpointHealth Health { get; } = new();

    public EndpointMetrics Metrics { get; }

    /// <summary>Gets or sets the proactive rate and concurrency limits; set by the constraint filter.</summary>
    public EndpointLimits? Limits { get; set; }

    /// <summary>Gets what the endpoint cost in the current hour, day and month, for its <see cref="EndpointOptions.Budget"/>.</summary>
    public BudgetAccount Spending { get; }

    /// <summary>Gets or sets the score of the latest routing decision this endpoint took part in; NaN when none.</summary>
    public double LastScore
    {
        get => Volatile.Read(ref _lastScore);
        set => Volatile.Write(ref _lastScore, value);
    }

    public override string ToString() => Name;

    /// <summary>An endpoint's prices per single token.</summary>
    internal sealed class Prices(EndpointOptions options)
    {
        public double Input { get; } = (double)options.InputCostPerMillionTokens / 1_000_000;

        public double Output { get; } = (double)options.OutputCostPerMillionTokens / 1_000_000;

        /// <summary>Gets the price of one input token read from the provider's prompt cache.</summary>
        public double CachedInput { get; } = (double)(options.CachedInputCostPerMillionTokens ?? options.InputCostPerMillionTokens) / 1_000_000;

        /// <summary>The input price as the endpoint really bills it, given the share of input it reads from its prompt cache (NaN: unknown, none).</summary>
        public double EffectiveInput(double cachedRatio) =>
            double.IsNaN(cachedRatio) || cachedRatio <= 0 ? Input : (Input * (1 - Math.Min(1, cachedRatio))) + (CachedInput * Math.Min(1, cachedRatio));
    }
}
