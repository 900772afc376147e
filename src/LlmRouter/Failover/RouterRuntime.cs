using Microsoft.Extensions.Logging;

namespace LlmRouter;

/// <summary>What every stage of one router shares: current options, time, randomness, classification, metrics refresh and logging.</summary>
internal sealed class RouterRuntime
{
    private LlmRouterOptions _options;

    public RouterRuntime(
        LlmRouterOptions options,
        TimeProvider timeProvider,
        FailureClassifierChain classifier,
        ILogger logger,
        RouterTelemetry? telemetry = null)
    {
        _options = options;
        Telemetry = telemetry ?? RouterTelemetry.Shared;
        TimeProvider = timeProvider;
        Classifier = classifier;
        Logger = logger;
        Random = options.Randomizer ?? System.Random.Shared.NextDouble;
    }

    /// <summary>Gets or sets the current options; replaced atomically when they change at run time, read once per use.</summary>
    public LlmRouterOptions Options
    {
        get => Volatile.Read(ref _options);
        set => Volatile.Write(ref _options, value);
    }

    public TimeProvider TimeProvider { get; }

    public RouterTelemetry Telemetry { get; }

    public FailureClassifierChain Classifier { get; }

    public ILogger Logger { get; }

    public Func<double> Random { get; }

    /// <summary>Gets or sets the snapshot refresher, told about every recorded attempt.</summary>
    public SnapshotRefresher? Refresher { get; set; }

    public TimeSpan AttemptTimeoutFor(RouterEndpoint endpoint) => endpoint.Options.AttemptTimeout ?? Options.AttemptTimeout;
}
