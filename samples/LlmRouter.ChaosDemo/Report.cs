using System.Globalization;

namespace LlmRouter.ChaosDemo;

/// <summary>The side-by-side table: availability, latency, cost, recovery and extra attempts for every system.</summary>
internal static class Report
{
    public static void Print(IReadOnlyList<RunResult> results, ChaosOptions options, IReadOnlyList<List<FaultWindow>> faults, TextWriter output)
    {
        List<FaultWindow> primaryOutages = [.. faults[0].Where(static f => f.Kind is FaultKind.OutageFast or FaultKind.OutageHang)];
        string[] headers = ["", .. results.Select(static r => Label(r.System))];
        var rows = new List<string[]>
        {
            Row("requests", results, r => N(r.Records.Count)),
            Row("success", results, r => P(SuccessRate(r), "0.0000")),
            Row("downtime min / month", results, r => F((1 - SuccessRate(r)) * 30 * 24 * 60, "0.0")),
            Row("P50 latency", results, r => Ms(Percentile(r, 0.50))),
            Row("P95 latency", results, r => Ms(Percentile(r, 0.95))),
            Row("P99 latency", results, r => Ms(Percentile(r, 0.99))),
            Row("cost / 1,000 requests", results, r => "$" + F((double)(r.Cost / Math.Max(1, r.Records.Count) * 1000), "0.000")),
            Row("recovery after alpha outage (mean)", results, r => Seconds(Recoveries(r, primaryOutages).DefaultIfEmpty(double.NaN).Average())),
            Row("recovery after alpha outage (max)", results, r => Seconds(Recoveries(r, primaryOutages).DefaultIfEmpty(double.NaN).Max())),
            Row("extra attempts", results, r => P((r.UpstreamCalls - r.Records.Count) / (double)Math.Max(1, r.Records.Count))),
            Row("calls alpha / bravo / charlie", results, r => string.Join(" / ", r.CallsPerProvider.Select(c => (100.0 * c / Math.Max(1, r.UpstreamCalls)).ToString("0", CultureInfo.InvariantCulture) + "%"))),
        };

        int[] widths = [.. Enumerable.Range(0, headers.Length).Select(c => Math.Max(headers[c].Length, rows.Max(row => row[c].Length)))];
        output.WriteLine();
        output.WriteLine($"Scenario {options.Scenario.ToString().ToLowerInvariant()}, {options.Days} days, {options.Rate.ToString(CultureInfo.InvariantCulture)} requests/min, " +
            $"{(options.Streaming ? "streaming" : "non-streaming")}, seed {options.Seed}.");
        output.WriteLine($"Faults of alpha (the direct system's provider): {Describe(faults[0])}.");
        output.WriteLine();
        output.WriteLine("| " + string.Join(" | ", headers.Select((h, c) => h.PadRight(widths[c]))) + " |");
        output.WriteLine("|" + string.Join("|", widths.Select((w, c) => c == 0 ? new string('-', w + 2) : new string('-', w + 1) + ":")) + "|");
        foreach (string[] row in rows)
        {
            output.WriteLine("| " + string.Join(" | ", row.Select((v, c) => c == 0 ? v.PadRight(widths[c]) : v.PadLeft(widths[c]))) + " |");
        }
    }

    public static string Label(SystemKind system) => system switch
    {
        SystemKind.Direct => "direct (alpha)",
        SystemKind.MeaiOrderedFailover => "M.E.AI OrderedFailover",
        SystemKind.LlmRouter => "LlmRouter",
        _ => "LlmRouter + hedging",
    };

    public static double SuccessRate(RunResult result) =>
        result.Records.Count == 0 ? double.NaN : result.Records.Count(static r => r.Succeeded) / (double)result.Records.Count;

    public static double Percentile(RunResult result, double quantile)
    {
        float[] sorted = [.. result.Records.Select(static r => r.DurationMs)];
        Array.Sort(sorted);
        return sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, Math.Max(0, (int)Math.Ceiling(quantile * sorted.Length) - 1))];
    }

    /// <summary>For each outage of the primary: from its start until the first request started after it succeeded.</summary>
    public static IEnumerable<double> Recoveries(RunResult result, List<FaultWindow> outages)
    {
        foreach (FaultWindow outage in outages)
        {
            double start = outage.Start.TotalSeconds;
            foreach (RequestRecord record in result.Records)
            {
                if (record.StartSeconds >= start && record.Succeeded)
                {
                    yield return record.StartSeconds + (record.DurationMs / 1000.0) - start;
                    break;
                }
            }
        }
    }

    private static string Describe(List<FaultWindow> faults)
    {
        var parts = new List<string>();
        foreach (IGrouping<FaultKind, FaultWindow> group in faults.GroupBy(static f => f.Kind))
        {
            parts.Add($"{group.Count()} × {group.Key} ({group.Sum(static f => (f.End - f.Start).TotalMinutes):0} min)");
        }

        return parts.Count == 0 ? "none" : string.Join(", ", parts);
    }

    private static string[] Row(string name, IReadOnlyList<RunResult> results, Func<RunResult, string> value) => [name, .. results.Select(value)];

    private static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    private static string P(double value, string format = "0.000") => double.IsNaN(value) ? "n/a" : (value * 100).ToString(format, CultureInfo.InvariantCulture) + "%";

    private static string F(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);

    private static string Ms(double value) => double.IsNaN(value) ? "n/a" : value.ToString("N0", CultureInfo.InvariantCulture) + " ms";

    private static string Seconds(double value) => double.IsNaN(value) ? "n/a" : value.ToString("0.0", CultureInfo.InvariantCulture) + " s";
}
