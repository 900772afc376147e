using LlmRouter;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Polly;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds LLM-sized HTTP resilience to a provider's <see cref="HttpClient"/>, leaving failover to LlmRouter.</summary>
public static class LlmResilienceHttpClientBuilderExtensions
{
    /// <summary>The name of the resilience pipeline this extension adds.</summary>
    public const string PipelineName = "llm";

    /// <summary>
    /// Adds a resilience handler for a client that calls an LLM provider under LlmRouter: a brief retry of a failed
    /// connection, an attempt timeout sized for LLMs, and a warning when the SDK above still retries on its own.
    /// </summary>
    /// <param name="builder">The HTTP client's builder.</param>
    /// <param name="configure">Changes the defaults of <see cref="LlmResilienceOptions"/>, if needed.</param>
    /// <returns>The resilience pipeline's builder, to add more.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is <see langword="null"/>.</exception>
    /// <remarks>
    /// <para>
    /// Unlike <c>AddStandardResilienceHandler()</c>, it does not retry what the provider answered (429, 5xx, 529), hedge
    /// or break the circuit: the router does those across endpoints, and doing them here too would multiply attempts
    /// (the standard handler's 3 retries under the router's 2 attempts per endpoint is 8 requests to a provider that is
    /// down) and hide failures from the router's health model. Its 10-second attempt timeout would also cut off most
    /// LLM answers. Only a request that never reached the provider (connection refused, name resolution) is tried again.
    /// </para>
    /// <para>
    /// It sets <see cref="HttpClient.Timeout"/> to infinite, so that long generations are bounded by
    /// <see cref="LlmResilienceOptions.AttemptTimeout"/> and the router's timeouts, not by the 100-second default. Options
    /// are validated at start-up, under the client's name.
    /// </para>
    /// </remarks>
    public static IHttpResiliencePipelineBuilder AddLlmResilienceHandler(this IHttpClientBuilder builder, Action<LlmResilienceOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        string name = builder.Name;
        OptionsBuilder<LlmResilienceOptions> options = builder.Services.AddOptions<LlmResilienceOptions>(name);
        if (configure is not null)
        {
            _ = options.Configure(configure);
        }

        _ = options.ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LlmResilienceOptions>, LlmResilienceOptionsValidator>());

        _ = builder.ConfigureHttpClient(static client => client.Timeout = Timeout.InfiniteTimeSpan);
        _ = builder.AddHttpMessageHandler(services =>
        {
            LlmResilienceOptions current = services.GetRequiredService<IOptionsMonitor<LlmResilienceOptions>>().Get(name);
            ILogger logger = current.WarnOnSdkRetries
                ? services.GetService<ILoggerFactory>()?.CreateLogger("LlmRouter.Http") ?? NullLogger.Instance
                : NullLogger.Instance;
            return new SdkRetryWarningHandler(logger, name);
        });

        return builder.AddResilienceHandler(PipelineName, (pipeline, context) =>
        {
            LlmResilienceOptions current = context.GetOptions<LlmResilienceOptions>(name);
            if (current.ConnectionRetries > 0)
            {
                _ = pipeline.AddRetry(new HttpRetryStrategyOptions
                {
                    MaxRetryAttempts = current.ConnectionRetries,
                    Delay = current.ConnectionRetryDelay,
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = true,
                    ShouldRetryAfterHeader = false,
                    ShouldHandle = static args => ValueTask.FromResult(ConnectionFailure.IsConnectFailure(args.Outcome.Exception)),
                });
            }

            if (current.AttemptTimeout != Timeout.InfiniteTimeSpan)
            {
                _ = pipeline.AddTimeout(current.AttemptTimeout);
            }
        });
    }
}
