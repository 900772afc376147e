using Microsoft.Extensions.Logging;

namespace LlmRouter;

/// <summary>What every stage of one router shares: validated options, time, randomness, classification and logging.</summary>
internal sealed class RouterRuntime
{
    public RouterRuntime(
        LlmRouterOptions options,
        TimeProvider timeProvider,
        FailureClassifierChain classifier,
        ILogger logger)
    {
        Options = options;
        TimeProvider = timeProvider;
        Classifier = classifier;
        Logger = logger;
        Random = options.Randomizer ?? System.Random.Shared.NextDouble;
    }

    public LlmRouterOptions Options { get; }

    public TimeProvider TimeProvider { get; }

    public FailureClassifierChain Classifier { get; }

    public ILogger Logger { get; }

    public Func<double> Random { get; }

    public TimeSpan AttemptTimeoutFor(RouterEndpoint endpoint) => endpoint.Options.AttemptTimeout ?? Options.AttemptTimeout;
}
