namespace LlmRouter.IntegrationTests.Matrix;

/// <summary>Placeholder; filled below.</summary>
public sealed class KnownRouterBugTests
{
}
