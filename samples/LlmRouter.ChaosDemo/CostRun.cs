using LlmRouter.Simulation;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace LlmRouter.ChaosDemo;

/// <summary>
/// The cost scenario: conversations of several turns (each turn repeats the conversation so far) against three
/// providers that bill cached input at their own price and keep prompts cached for five minutes. The same seed gives
/// every system the same conversations at the same times.
/// </summary>
internal static class CostRun
{
    public const string Tenant = "demo";

    /// <summary>Runs the conversations through one system; <paramref name="dailyBudget"/> applies to the budget system only.</summary>
    public static CostResult Run(CostSystem system, ChaosOptions options, decimal dailyBudget, Action<double> progress)
    {
        var time = new VirtualTimeProvider();
        List<FaultWindow> none = [];
        SimulatedProvider[] providers =
        [
            .. ProviderProfile.All.Select((profile, i) => new SimulatedProvider(profile, none, time, unchecked((options.Seed * 31) + i + 1), drops: false)),
        ];

        using ServiceProvider? services = system == CostSystem.MeaiOrderedFailover ? null : BuildRouter(time, providers, system, dailyBudget);
        RouterChatClient? router = services?.GetRequiredService<IChatClient>().GetService<RouterChatClient>();
        IChatClient client = services is null
            ? new OrderedFailoverChatClient([.. providers], leaveOpen: true)
            : services.GetRequiredService<IChatClient>();

        var random = new Random(options.Seed);
        double totalSeconds = TimeSpan.FromDays(options.Days).TotalSeconds;

        // Conversations start as Poisson arrivals; each has 4 to 12 turns, a user think time of about 30 s between
        // them, and a long leading context of its own (a system prompt with a document).
        double meanTurns = 8;
        double meanConversationGap = 60.0 / (options.Rate / meanTurns);
        int requests = 0, served = 0, refused = 0;
        decimal highestDay = 0;

        async Task ConversationAsync(int id, double startSeconds)
        {
            // Drawn before the first await, on the clock's thread, in arrival order: the same seed gives the same conversations.
            int turns = 4 + random.Next(9);
            int documentLength = 4_000 + random.Next(12_000);
            var own = new Random(random.Next());

            List<ChatMessage> messages = [new(ChatRole.System, $"Conversation {id}. Answer from this document: " + new string('d', documentLength))];
            for (int turn = 0; turn < turns; turn++)
            {
                messages.Add(new ChatMessage(ChatRole.User, $"Question {turn}: " + new string('q', 200 + own.Next(800))));
                Interlocked.Increment(ref requests);
                try
                {
                    ChatResponse response = await client.GetResponseAsync(messages, new ChatOptions().WithRouting(h => h.Tenant = Tenant)).ConfigureAwait(false);
                    messages.AddRange(response.Messages);
                    Interlocked.Increment(ref served);
                }
                catch (BudgetExceededException)
                {
                    Interlocked.Increment(ref refused);
                    break; // the user is told to come back tomorrow
                }
#pragma warning disable CA1031 // Any other failure ends the conversation; it is counted as unserved.
                catch (Exception)
#pragma warning restore CA1031
                {
                    break;
                }

                if (router?.GetBudgets() is { Count: > 0 } budgets)
                {
                    lock (providers)
                    {
                        highestDay = Math.Max(highestDay, budgets.Where(static b => b.Scope == "tenant").Max(static b => b.Spent));
                    }
                }

                await Task.Delay(TimeSpan.FromSeconds(5 + (-Math.Log(1.0 - own.NextDouble()) * 25)), time).ConfigureAwait(false);
            }
        }

        PoissonArrivals.Run(time, random, meanConversationGap, totalSeconds, progress, ConversationAsync);
        if (services is null)
        {
            client.Dispose();
        }

        return new CostResult(
            system, requests, served, refused,
            providers.Sum(static p => p.Cost), providers.Sum(static p => p.InputTokens), providers.Sum(static p => p.CachedInputTokens),
            [.. providers.Select(static p => p.Calls)],
            router?.GetAffinityStatistics().HitRate,
            system == CostSystem.ScoreWithAffinityAndBudget ? highestDay : null);
    }

    private static ServiceProvider BuildRouter(VirtualTimeProvider time, SimulatedProvider[] providers, CostSystem system, decimal dailyBudget) =>
        DemoRouter.Build(time, providers, options =>
        {
            options.Affinity.Enabled = system != CostSystem.ScoreWithoutAffinity;
            options.Constraints.Tenants[Tenant] = system == CostSystem.ScoreWithAffinityAndBudget
                ? new TenantOptions { Budget = new BudgetOptions { PerDay = dailyBudget } }
                : new TenantOptions();
        });
}
