namespace LlmRouter;

/// <summary>A piece of local news waiting to be published: small, so that the bounded queue costs little.</summary>
/// <param name="Kind">What happened.</param>
/// <param name="Endpoint">The endpoint's index in the router.</param>
/// <param name="Timestamp">The deadline (open, cool-down) or the probed break's end (closed), as a router timestamp; 0 otherwise.</param>
/// <param name="FailedProbes">The failed probes in a row, for an opening.</param>
internal readonly record struct FleetEvent(FleetEventKind Kind, int Endpoint, long Timestamp, int FailedProbes);
