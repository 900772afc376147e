namespace LlmRouter.IntegrationTests.TestSupport;

/// <summary>Counts the HTTP attempts that reach the wire, below every resilience handler (even those that never connect).</summary>
public sealed class CountingHandler : DelegatingHandler
{
    private int _attempts;

    /// <summary>Gets how many attempts were sent.</summary>
    public int Attempts => Volatile.Read(ref _attempts);

    /// <inheritdoc/>
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        _ = Interlocked.Increment(ref _attempts);
        return base.SendAsync(request, cancellationToken);
    }
}
