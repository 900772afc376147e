namespace LlmRouter.ChaosDemo;

/// <summary>What one system did with the request stream: every request's record, the upstream calls it made, and what they cost.</summary>
internal sealed record RunResult(SystemKind System, List<RequestRecord> Records, long UpstreamCalls, decimal Cost, long[] CallsPerProvider);
