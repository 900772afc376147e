using System.Globalization;
using System.Security;
using System.Text;

namespace LlmRouter.ChaosDemo;

/// <summary>
/// A self-contained SVG of the run: hourly P99 latency (log scale) and hourly failed requests, one line per system, with
/// every provider's outage windows shaded (alpha's darkest).
/// </summary>
internal static class SvgChart
{
    private const int Width = 1200;
    private const int PanelHeight = 260;
    private const int Left = 70;
    private const int Right = 180;
    private const int Top = 40;
    private const int Gap = 60;
    private static readonly string[] Colors = ["#d62728", "#ff7f0e", "#1f77b4", "#2ca02c"];
    private static readonly string[] Shades = ["#d62728", "#9467bd", "#8c564b"];

    public static void Write(string path, IReadOnlyList<RunResult> results, ChaosOptions options, IReadOnlyList<List<FaultWindow>> faults)
    {
        int hours = options.Days * 24;
        double plotWidth = Width - Left - Right;
        double X(double hour) => Left + (hour / hours * plotWidth);

        // Per system and hour: P99 latency and failures.
        var p99 = new double[results.Count][];
        var failures = new int[results.Count][];
        for (int s = 0; s < results.Count; s++)
        {
            var buckets = new List<float>[hours];
            failures[s] = new int[hours];
            foreach (RequestRecord record in results[s].Records)
            {
                int hour = Math.Min(hours - 1, (int)(record.StartSeconds / 3600));
                (buckets[hour] ??= []).Add(record.DurationMs);
                failures[s][hour] += record.Succeeded ? 0 : 1;
            }

            p99[s] = new double[hours];
            for (int h = 0; h < hours; h++)
            {
                List<float>? bucket = buckets[h];
                if (bucket is null || bucket.Count == 0)
                {
                    p99[s][h] = double.NaN;
                    continue;
                }

                bucket.Sort();
                p99[s][h] = bucket[Math.Min(bucket.Count - 1, (int)Math.Ceiling(0.99 * bucket.Count) - 1)];
            }
        }

        double maxLatency = Math.Max(1000, p99.SelectMany(static x => x).Where(static v => !double.IsNaN(v)).DefaultIfEmpty(1000).Max());
        double minLatency = 100;
        int maxFailures = Math.Max(1, failures.SelectMany(static x => x).Max());
        double latencyTop = Top;
        double failureTop = Top + PanelHeight + Gap;
        double YLatency(double ms) => latencyTop + PanelHeight - (Math.Log10(Math.Max(minLatency, ms) / minLatency) / Math.Log10(maxLatency / minLatency) * PanelHeight);
        double YFailures(double count) => failureTop + PanelHeight - (count / maxFailures * PanelHeight);

        var svg = new StringBuilder();
        int height = Top + (2 * PanelHeight) + Gap + 50;
        svg.Append(CultureInfo.InvariantCulture, $"""<svg xmlns="http://www.w3.org/2000/svg" width="{Width}" height="{height}" font-family="sans-serif" font-size="12">""").AppendLine();
        svg.AppendLine("""<rect width="100%" height="100%" fill="white"/>""");
        svg.Append(CultureInfo.InvariantCulture, $"""<text x="{Left}" y="20" font-size="15" font-weight="bold">LlmRouter chaos demo: {Escape(options.Scenario.ToString())}, {options.Days} days, {options.Rate.ToString(CultureInfo.InvariantCulture)} req/min{(options.Streaming ? ", streaming" : string.Empty)}, seed {options.Seed}</text>""").AppendLine();

        // Fault windows, shaded across both panels.
        for (int p = 0; p < faults.Count; p++)
        {
            foreach (FaultWindow fault in faults[p].Where(static f => f.Kind is FaultKind.OutageFast or FaultKind.OutageHang))
            {
                double x = X(fault.Start.TotalHours);
                double w = Math.Max(1.5, X(fault.End.TotalHours) - x);
                foreach (double top in new[] { latencyTop, failureTop })
                {
                    svg.Append(CultureInfo.InvariantCulture, $"""<rect x="{x:0.##}" y="{top}" width="{w:0.##}" height="{PanelHeight}" fill="{Shades[p % Shades.Length]}" fill-opacity="{(p == 0 ? 0.25 : 0.12)}"/>""").AppendLine();
                }
            }
        }

        Axes(svg, latencyTop, "hourly P99 latency (log scale)", hours, X);
        Axes(svg, failureTop, "failed requests per hour", hours, X);
        foreach (double ms in new[] { 100.0, 1_000, 10_000, 100_000 }.Where(v => v <= maxLatency * 1.01))
        {
            svg.Append(CultureInfo.InvariantCulture, $"""<text x="{Left - 6}" y="{YLatency(ms) + 4:0.##}" text-anchor="end">{(ms >= 1000 ? $"{ms / 1000:0} s" : $"{ms:0} ms")}</text>""").AppendLine();
        }

        svg.Append(CultureInfo.InvariantCulture, $"""<text x="{Left - 6}" y="{failureTop + 4}" text-anchor="end">{maxFailures}</text>""").AppendLine();
        svg.Append(CultureInfo.InvariantCulture, $"""<text x="{Left - 6}" y="{failureTop + PanelHeight + 4}" text-anchor="end">0</text>""").AppendLine();

        for (int s = 0; s < results.Count; s++)
        {
            string color = Colors[s % Colors.Length];
            svg.Append(CultureInfo.InvariantCulture, $"""<polyline fill="none" stroke="{color}" stroke-width="1.2" points="{Points(p99[s], h => X(h + 0.5), YLatency)}"/>""").AppendLine();
            svg.Append(CultureInfo.InvariantCulture, $"""<polyline fill="none" stroke="{color}" stroke-width="1.2" points="{Points([.. failures[s].Select(static f => (double)f)], h => X(h + 0.5), YFailures)}"/>""").AppendLine();
            double legendY = Top + 10 + (s * 18);
            svg.Append(CultureInfo.InvariantCulture, $"""<line x1="{Width - Right + 15}" y1="{legendY}" x2="{Width - Right + 35}" y2="{legendY}" stroke="{color}" stroke-width="3"/>""").AppendLine();
            svg.Append(CultureInfo.InvariantCulture, $"""<text x="{Width - Right + 40}" y="{legendY + 4}">{Escape(Report.Label(results[s].System))}</text>""").AppendLine();
        }

        double shadeY = Top + 10 + (results.Count * 18) + 10;
        for (int p = 0; p < faults.Count; p++)
        {
            svg.Append(CultureInfo.InvariantCulture, $"""<rect x="{Width - Right + 15}" y="{shadeY + (p * 18) - 6}" width="20" height="12" fill="{Shades[p % Shades.Length]}" fill-opacity="{(p == 0 ? 0.25 : 0.12)}"/>""").AppendLine();
            svg.Append(CultureInfo.InvariantCulture, $"""<text x="{Width - Right + 40}" y="{shadeY + (p * 18) + 4}">{Escape(ProviderProfile.All[p].Name)} outage</text>""").AppendLine();
        }

        svg.AppendLine("</svg>");
        string? directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }

        File.WriteAllText(path, svg.ToString());
    }

    private static void Axes(StringBuilder svg, double top, string title, int hours, Func<double, double> x)
    {
        svg.Append(CultureInfo.InvariantCulture, $"""<rect x="{Left}" y="{top}" width="{Width - Left - Right}" height="{PanelHeight}" fill="none" stroke="#999"/>""").AppendLine();
        svg.Append(CultureInfo.InvariantCulture, $"""<text x="{Left}" y="{top - 6}" font-weight="bold">{Escape(title)}</text>""").AppendLine();
        int step = Math.Max(1, hours / 24 / 10) * 24;
        for (int h = 0; h <= hours; h += step)
        {
            svg.Append(CultureInfo.InvariantCulture, $"""<text x="{x(h):0.##}" y="{top + PanelHeight + 16}" text-anchor="middle">day {h / 24}</text>""").AppendLine();
        }
    }

    private static string Points(double[] values, Func<double, double> x, Func<double, double> y)
    {
        var points = new StringBuilder();
        for (int i = 0; i < values.Length; i++)
        {
            if (!double.IsNaN(values[i]))
            {
                points.Append(CultureInfo.InvariantCulture, $"{x(i):0.#},{y(values[i]):0.#} ");
            }
        }

        return points.ToString();
    }

    private static string Escape(string text) => SecurityElement.Escape(text) ?? string.Empty;
}
