using System.Diagnostics;
using System.Globalization;

namespace LlmRouter.ChaosDemo;

/// <summary>Runs the cost scenario through every <see cref="CostSystem"/> and prints them side by side.</summary>
internal static class CostReport
{
    /// <summary>The budget run's daily cap, as a share of what the affinity run spends per day: low enough to bite.</summary>
    private const decimal BudgetShare = 0.6m;

    public static void Run(ChaosOptions options, TextWriter output, bool interactive)
    {
        var clock = Stopwatch.StartNew();
        var results = new List<CostResult>();
        decimal dailyBudget = 0;
        foreach (CostSystem system in Enum.GetValues<CostSystem>())
        {
            if (system == CostSystem.ScoreWithAffinityAndBudget)
            {
                CostResult affinity = results.Single(static r => r.System == CostSystem.ScoreWithAffinity);
                dailyBudget = decimal.Round(affinity.Cost / options.Days * BudgetShare, 2);
            }

            int lastShown = -1;
            results.Add(CostRun.Run(system, options, dailyBudget, fraction =>
            {
                int percent = (int)(fraction * 100);
                if (interactive && percent != lastShown)
                {
                    lastShown = percent;
                    output.Write($"\r{percent,3}% {Label(system)}");
                }
            }));
            output.WriteLine($"{(interactive ? "\r" : string.Empty)}  {Label(system)} done ({clock.Elapsed.TotalSeconds:0.0} s)");
        }

        string[] headers = ["", .. results.Select(static r => Label(r.System))];
        var rows = new List<string[]>
        {
            Row("turns sent", results, static r => r.Requests.ToString("N0", CultureInfo.InvariantCulture)),
            Row("turns answered", results, static r => r.Served.ToString("N0", CultureInfo.InvariantCulture)),
            Row("refused by budget", results, static r => r.RefusedByBudget.ToString("N0", CultureInfo.InvariantCulture)),
            Row("cost / 1,000 answered", results, static r => "$" + (r.Cost / Math.Max(1, r.Served) * 1000).ToString("0.000", CultureInfo.InvariantCulture)),
            Row("input read from prompt caches", results, static r => Percent(r.CachedInputTokens / (double)Math.Max(1, r.InputTokens))),
            Row("returning turns kept on their endpoint", results, static r => r.AffinityHitRate is { } rate ? Percent(rate) : "-"),
            Row("calls alpha / bravo / charlie", results, static r => string.Join(" / ", r.CallsPerProvider.Select(c => Percent(c / (double)Math.Max(1, r.CallsPerProvider.Sum()))))),
            Row("highest day's spend / daily cap", results, r => r.HighestDaySpend is { } spent
                ? $"${spent.ToString("0.00", CultureInfo.InvariantCulture)} / ${dailyBudget.ToString("0.00", CultureInfo.InvariantCulture)}"
                : "-"),
        };

        int[] widths = [.. Enumerable.Range(0, headers.Length).Select(c => Math.Max(headers[c].Length, rows.Max(row => row[c].Length)))];
        output.WriteLine();
        output.WriteLine($"Scenario cost, {options.Days} days, {options.Rate.ToString(CultureInfo.InvariantCulture)} turns/min in conversations of 4-12 turns, seed {options.Seed}.");
        output.WriteLine("Prices per million tokens (input / cached input / output): " + string.Join(", ", ProviderProfile.All.Select(static p =>
            FormattableString.Invariant($"{p.Name} {p.InputPrice} / {p.CachedInputPrice} / {p.OutputPrice}"))) +
            $"; prompt caches last {ProviderProfile.PromptCacheLifetime.TotalMinutes:0} min.");
        output.WriteLine();
        output.WriteLine("| " + string.Join(" | ", headers.Select((h, c) => h.PadRight(widths[c]))) + " |");
        output.WriteLine("|" + string.Join("|", widths.Select((w, c) => c == 0 ? new string('-', w + 2) : new string('-', w + 1) + ":")) + "|");
        foreach (string[] row in rows)
        {
            output.WriteLine("| " + string.Join(" | ", row.Select((v, c) => c == 0 ? v.PadRight(widths[c]) : v.PadLeft(widths[c]))) + " |");
        }

        output.WriteLine();
        output.WriteLine($"Simulated {options.Days} days × {results.Count} systems in {clock.Elapsed.TotalSeconds:0.0} s.");
    }

    public static string Label(CostSystem system) => system switch
    {
        CostSystem.MeaiOrderedFailover => "M.E.AI OrderedFailover",
        CostSystem.ScoreWithoutAffinity => "Score, no affinity",
        CostSystem.ScoreWithAffinity => "Score + affinity",
        _ => "Score + affinity + budget",
    };

    private static string[] Row(string name, List<CostResult> results, Func<CostResult, string> value) => [name, .. results.Select(value)];

    private static string Percent(double value) => (100 * value).ToString("0.0", CultureInfo.InvariantCulture) + "%";
}
