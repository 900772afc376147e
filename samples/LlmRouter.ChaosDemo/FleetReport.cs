using System.Globalization;

namespace LlmRouter.ChaosDemo;

/// <summary>The fleet comparison's side-by-side table: independent routers against fleet mode, and its legend.</summary>
internal static class FleetReport
{
    public static void Print(FleetScenario scenario, List<FaultWindow> outages, FleetResult independent, FleetResult shared, string redis, TextWriter output)
    {
        FleetResult[] results = [independent, shared];
        string[] headers = ["", "independent routers", "fleet mode (Redis)"];
        List<string[]> rows =
        [
            Row("requests", results, static r => N(r.Requests)),
            Row("success", results, static r => P(r.SuccessRate, "0.00")),
            Row("calls wasted on alpha per outage ¹", results, static r => F(r.WastedPerOutage)),
            Row("probes per recovery ²", results, static r => F(r.ProbesPerRecovery)),
            Row("bravo: busiest wall-clock minute ³", results, static r => N(r.BusiestMinute)),
            Row($"bravo: overshoot of its {N(scenario.RequestsPerMinute)}/min limit", results, r => $"{N(r.Overshoot)} ({P(r.Overshoot / (double)scenario.RequestsPerMinute, "0")})"),
            Row("calls alpha / bravo / charlie", results, static r => string.Join(" / ", r.Calls.Select(static c => N(c.Length)))),
        ];

        int[] widths = [.. Enumerable.Range(0, headers.Length).Select(c => Math.Max(headers[c].Length, rows.Max(row => row[c].Length)))];
        output.WriteLine();
        output.WriteLine($"Fleet of {scenario.Instances} router instances over shared providers, real time, seed {scenario.Seed}: " +
            $"{scenario.Duration.TotalSeconds:0} s per mode, {F(scenario.RatePerInstance)} requests/s per instance (Poisson).");
        output.WriteLine($"alpha (first choice): {outages.Count} outages, fast 503s, {string.Join(", ", outages.Select(static o => $"{o.Start.TotalSeconds:0.0}–{o.End.TotalSeconds:0.0} s"))}; " +
            $"bravo: RequestsPerMinute {N(scenario.RequestsPerMinute)}; charlie: always up.");
        output.WriteLine($"Breaks {scenario.BreakDuration.TotalMilliseconds:0} ms (doubling), {FleetScenario.FailureThreshold} failures open an endpoint; fleet mode: {redis}, a fresh key prefix.");
        output.WriteLine();
        output.WriteLine("| " + string.Join(" | ", headers.Select((h, c) => h.PadRight(widths[c]))) + " |");
        output.WriteLine("|" + string.Join("|", widths.Select((w, c) => c == 0 ? new string('-', w + 2) : new string('-', w + 1) + ":")) + "|");
        foreach (string[] row in rows)
        {
            output.WriteLine("| " + string.Join(" | ", row.Select((v, c) => c == 0 ? v.PadRight(widths[c]) : v.PadLeft(widths[c]))) + " |");
        }

        output.WriteLine();
        output.WriteLine("¹ upstream calls alpha received while it was down, divided by its outages.");
        output.WriteLine("² calls alpha received from an instance that held it Open or HalfOpen at that moment (that instance's probes,");
        output.WriteLine("  failed and successful), divided by its outages.");
        output.WriteLine("³ the most calls bravo received in one wall-clock minute (the limit's window); overshoot = max(0, that − limit).");
    }

    private static string[] Row(string name, FleetResult[] results, Func<FleetResult, string> value) => [name, .. results.Select(value)];

    private static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    private static string F(double value) => value.ToString("0.0", CultureInfo.InvariantCulture);

    private static string P(double value, string format) => double.IsNaN(value) ? "n/a" : (value * 100).ToString(format, CultureInfo.InvariantCulture) + "%";
}
