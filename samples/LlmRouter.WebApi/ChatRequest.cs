namespace LlmRouter.WebApi;

/// <summary>The body of <c>POST /chat</c>.</summary>
/// <param name="Message">The user's message.</param>
/// <param name="Group">Optional endpoint group (a model alias).</param>
/// <param name="Tenant">Optional tenant: its own partition of the response cache.</param>
public sealed record ChatRequest(string Message, string? Group = null, string? Tenant = null);
