namespace LlmRouter.ChaosDemo;

/// <summary>The systems the same request stream runs through.</summary>
internal enum SystemKind
{
    /// <summary>Direct calls to one provider (alpha), as most applications start.</summary>
    Direct,

    /// <summary>Microsoft.Extensions.AI's OrderedFailoverChatClient over alpha, bravo, charlie.</summary>
    MeaiOrderedFailover,

    /// <summary>LlmRouter with default options over the same three.</summary>
    LlmRouter,

    /// <summary>LlmRouter with hedging on.</summary>
    LlmRouterHedged,
}
