namespace LlmRouter;

/// <summary>The UTC calendar period a spending cap counts over.</summary>
public enum BudgetPeriod
{
    /// <summary>The UTC clock hour: from hh:00:00 to the next hour.</summary>
    Hour,

    /// <summary>The UTC calendar day: from 00:00:00 UTC to the next midnight.</summary>
    Day,

    /// <summary>The UTC calendar month: from the first day's 00:00:00 UTC to the next month's.</summary>
    Month,
}
