using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LlmRouter;

/// <summary>
/// An <see cref="IChatClient"/> over several named endpoints: it picks an endpoint per request, retries and fails over
/// by failure kind, and gates streams so that a failure before the first output is invisible to the caller.
/// </summary>
/// <remarks>
/// Register it with <c>services.AddLlmRouter(...)</c>, which makes it the application's default <see cref="IChatClient"/>.
/// It wires the stages (candidate filter and strategy, failover, streaming gate); each lives in its own type.
/// </remarks>
public sealed class RouterChatClient : IChatClient
{
    private readonly RouterEndpoint[] _endpoints;
    private readonly CandidateSelector _selector;
    private readonly FailoverExecutor _executor;
    private readonly StreamingFailoverExecutor _streamingExecutor;
    private readonly ChatClientMetadata _metadata = new("llmrouter");
    private int _disposed;

    internal RouterChatClient(
        IReadOnlyList<RouterEndpoint> endpoints,
        LlmRouterOptions options,
        TimeProvider? timeProvider = null,
        IEnumerable<IFailureClassifier>? classifiers = null,
        ILoggerFactory? loggerFactory = null)
    {
        timeProvider ??= TimeProvider.System;
        var runtime = new RouterRuntime(
            options,
            timeProvider,
            new FailureClassifierChain(classifiers ?? [], timeProvider),
            (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<RouterChatClient>());

        _endpoints = [.. endpoints];
        IRoutingStrategy strategy = options.Strategy switch
        {
            RoutingStrategy.WeightedRandom => new WeightedRandomRoutingStrategy(runtime.Random),
            _ => OrderedRoutingStrategy.Instance,
        };
        _selector = new CandidateSelector(_endpoints, strategy, timeProvider);
        _executor = new FailoverExecutor(runtime);
        _streamingExecutor = new StreamingFailoverExecutor(runtime);
    }

    /// <summary>Gets the names of the endpoints, in registration order.</summary>
    public IReadOnlyList<string> EndpointNames => Array.ConvertAll(_endpoints, static e => e.Name);

    /// <inheritdoc />
    /// <exception cref="ArgumentNullException"><paramref name="messages"/> is <see langword="null"/>.</exception>
    /// <exception cref="NoEndpointAvailableException">No endpoint serves the requested group.</exception>
    /// <exception cref="AllEndpointsFailedException">Every attempt failed; the exception lists them.</exception>
    /// <remarks>
    /// A request error (<see cref="FailureKind.BadRequest"/>, or a content-filter or context-length failure with no
    /// eligible fallback) is not failed over: the provider's exception is rethrown as a direct call would throw it.
    /// </remarks>
    public Task<ChatResponse> GetResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        return _executor.GetResponseAsync(AsList(messages), _selector.Select(options), cancellationToken);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentNullException"><paramref name="messages"/> is <see langword="null"/>.</exception>
    /// <exception cref="NoEndpointAvailableException">No endpoint serves the requested group.</exception>
    /// <exception cref="AllEndpointsFailedException">Every attempt failed before any output; the exception lists them.</exception>
    /// <exception cref="StreamInterruptedException">The stream failed after output had reached the caller.</exception>
    /// <remarks>
    /// Updates are held back until the first one that carries output; the first update yielded carries the
    /// <see cref="RoutingInfo"/> (read it with <c>update.GetRoutingInfo()</c>, or on the response built from the updates).
    /// </remarks>
    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        return _streamingExecutor.GetStreamingResponseAsync(AsList(messages), _selector.Select(options), cancellationToken);
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null)
        {
            return null;
        }

        if (serviceType == typeof(ChatClientMetadata))
        {
            return _metadata;
        }

        return serviceType.IsInstanceOfType(this) ? this : null;
    }

    /// <summary>Disposes the endpoint clients the router created from factories; clients passed as instances or resolved from DI stay with their owners.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        foreach (RouterEndpoint endpoint in _endpoints)
        {
            if (endpoint.OwnsClient)
            {
                endpoint.Client.Dispose();
            }
        }
    }

    // Retries and failover enumerate the messages more than once: a one-shot sequence is materialised once.
    private static IList<ChatMessage> AsList(IEnumerable<ChatMessage> messages) => messages as IList<ChatMessage> ?? [.. messages];
}
