namespace LlmRouter.Tests.Reliability;

/// <summary>
/// Sizes of the reliability suite: CI-sized by default, the full figures when
/// <c>LLMROUTER_FULL_RELIABILITY=1</c>. The assertions are the same at both sizes.
/// </summary>
internal static class ReliabilityScale
{
    public const string Variable = "LLMROUTER_FULL_RELIABILITY";

    public static bool Full { get; } = Environment.GetEnvironmentVariable(Variable) is "1" or "true" or "True";

    /// <summary>The CI-sized count, or the full one under <see cref="Variable"/>.</summary>
    public static int Count(int ci, int full) => Full ? full : ci;

    public static TimeSpan Duration(TimeSpan ci, TimeSpan full) => Full ? full : ci;

    public static void Report(string line) => TestContext.Current.TestOutputHelper?.WriteLine(line);
}

/// <summary>
/// Tests that measure the whole process (memory, thread-pool quiet, wall-clock budgets) run alone, after the parallel ones.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class IsolatedReliabilityDefinition
{
    public const string Name = "Reliability (isolated)";
}
