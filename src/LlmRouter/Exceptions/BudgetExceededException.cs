namespace LlmRouter;

/// <summary>
/// Thrown before any endpoint is called when a request's tenant has spent one of its caps
/// (<see cref="TenantOptions.Budget"/>) for the current UTC period.
/// </summary>
public sealed class BudgetExceededException : LlmRouterException
{
    /// <summary>Initializes a new instance of the <see cref="BudgetExceededException"/> class.</summary>
    public BudgetExceededException()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="BudgetExceededException"/> class with a message.</summary>
    /// <param name="message">Which cap was spent.</param>
    public BudgetExceededException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="BudgetExceededException"/> class with a message and a cause.</summary>
    /// <param name="message">Which cap was spent.</param>
    /// <param name="innerException">The cause.</param>
    public BudgetExceededException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Gets the tenant whose cap was spent.</summary>
    public string? Tenant { get; internal init; }

    /// <summary>Gets the period of the cap.</summary>
    public BudgetPeriod Period { get; internal init; }

    /// <summary>Gets what was spent in the period.</summary>
    public decimal Spent { get; internal init; }

    /// <summary>Gets the cap.</summary>
    public decimal Cap { get; internal init; }

    /// <summary>Gets when the period ends and the tenant may spend again (UTC).</summary>
    public DateTimeOffset ResetsAt { get; internal init; }
}
