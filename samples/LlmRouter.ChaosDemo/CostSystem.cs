namespace LlmRouter.ChaosDemo;

/// <summary>The systems the cost scenario's conversations run through.</summary>
internal enum CostSystem
{
    /// <summary>Microsoft.Extensions.AI's OrderedFailoverChatClient over alpha, bravo, charlie: everything to alpha while it answers.</summary>
    MeaiOrderedFailover,

    /// <summary>LlmRouter's Score strategy with conversation affinity off: every turn is routed afresh.</summary>
    ScoreWithoutAffinity,

    /// <summary>LlmRouter's Score strategy with conversation affinity on (the default).</summary>
    ScoreWithAffinity,

    /// <summary>As <see cref="ScoreWithAffinity"/>, under a daily budget for the tenant: cheaper endpoints past 80%, refusals past 100%.</summary>
    ScoreWithAffinityAndBudget,
}
