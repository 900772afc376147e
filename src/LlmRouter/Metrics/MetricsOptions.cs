namespace LlmRouter;

/// <summary>How much the router remembers of each endpoint's recent attempts.</summary>
public sealed class MetricsOptions
{
    /// <summary>Gets or sets how many recent attempts each endpoint keeps.</summary>
    /// <remarks>Default 1024. Between 16 and 1,048,576. Applies when the router is created.</remarks>
    public int Capacity { get; set; } = 1024;

    /// <summary>Gets or sets how long an attempt counts in percentiles and rates; older ones age out even when traffic stops.</summary>
    /// <remarks>Default 5 minutes. Between 1 second and 1 day.</remarks>
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Gets or sets the half-life of the time-decayed success rate.</summary>
    /// <remarks>Default 60 s. Between 1 second and 1 day. An attempt this old weighs half as much as one made now.</remarks>
    public TimeSpan SuccessHalfLife { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Gets or sets how soon after new attempts the snapshots are rebuilt (off the request path).</summary>
    /// <remarks>Default 10 ms. Between 1 ms and 10 s. Applies when the router is created.</remarks>
    public TimeSpan SnapshotInterval { get; set; } = TimeSpan.FromMilliseconds(10);
}
