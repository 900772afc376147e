namespace LlmRouter;

/// <summary>An endpoint left out of a request's plan, and why.</summary>
public sealed class EndpointExclusion
{
    internal EndpointExclusion(string endpoint, ExclusionReason reason, string detail)
    {
        Endpoint = endpoint;
        Reason = reason;
        Detail = detail;
    }

    /// <summary>Gets the endpoint's name.</summary>
    public string Endpoint { get; }

    /// <summary>Gets the kind of reason.</summary>
    public ExclusionReason Reason { get; }

    /// <summary>Gets the reason in words, naming the setting that decided it (for example "region 'us-east' is not in [eu]").</summary>
    public string Detail { get; }

    /// <inheritdoc />
    public override string ToString() => $"{Endpoint}: {Reason} ({Detail})";
}
