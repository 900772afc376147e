using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Json.Nodes;
using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LlmRouter.Tests.Reliability;

/// <summary>
/// Fuzzes the <c>LlmRouter</c> configuration section (and the HTTP handler's <see cref="LlmResilienceOptions"/>): a seeded
/// generator gives one setting at a time an out-of-range, NaN or huge value, a value of the wrong type (a string for a
/// number, an object or array for a single value, a single value for a section or a list), <c>null</c> for a setting
/// that cannot be null, a duplicate or misspelled key, or leaves out what is required, on top of harmless noise (keys in
/// any case, numbers as strings). Every such input must fail at start-up, naming the field and, for an endpoint's or a
/// tenant's setting, the endpoint or tenant; the same noise without a fault must start.
/// </summary>
/// <remarks>
/// The settings are found by reflection over the options types, so a new setting is fuzzed without touching this test;
/// only <see cref="Unconstrained"/> lists values a setting may legitimately take whatever they are.
/// </remarks>
public sealed class ConfigurationFuzzTests
{
    private const string Section = "LlmRouter";
    private static readonly string[] EndpointNames = ["openai", "local"];
    private const string Tenant = "acme";

    /// <summary>
    /// Settings that accept any value of their type, so that no "out-of-range" value exists for them (wrong types, null
    /// and duplicates are still fuzzed): each with the reason.
    /// </summary>
    private static readonly Dictionary<string, string> Unconstrained = new(StringComparer.OrdinalIgnoreCase)
    {
        ["Endpoints:*:Priority"] = "any integer orders endpoints; negative priorities come first",
        ["Endpoints:*:Provider"] = "informational free text; no routing rule reads it",
        ["Endpoints:*:Model"] = "informational free text; the endpoint's client decides the model",
        ["Endpoints:*:Tags"] = "free-text tags for descriptions and custom scorers; an empty tag is a tag",
    };

    /// <summary>Documented ranges (XML docs of the options) tighter than what every setting of the type must meet.</summary>
    private static readonly Dictionary<string, (double Min, double Max)> NumberRanges = new(StringComparer.OrdinalIgnoreCase)
    {
        ["Retry:MaxAttempts"] = (1, 100),
        ["Retry:MaxRetriesPerEndpoint"] = (0, 10),
        ["Retry:BudgetRatio"] = (0, 10),
        ["Retry:BudgetMinPerSecond"] = (0, 10_000),
        ["Health:FailureThreshold"] = (1, 1000),
        ["Health:BreakJitter"] = (0, 0.9),
        ["Health:DegradedAfterSlowRequests"] = (1, 1000),
        ["Health:RecoverAfterFastRequests"] = (1, 1000),
        ["Health:CanaryShare"] = (0, 1),
        ["Metrics:Capacity"] = (16, 1 << 20),
        ["Scoring:LatencySensitivity"] = (0.1, 10),
        ["Scoring:ExplorationShare"] = (0, 0.5),
        ["Scoring:MinSamples"] = (1, 1000),
        ["Scoring:AssumedOutputTokens"] = (1, 1_000_000),
        ["Streaming:FirstTokenTimeoutMultiplier"] = (1, 100),
        ["Hedging:MaxHedges"] = (1, 5),
        ["Cache:SizeLimitBytes"] = (1024, 64d * 1024 * 1024 * 1024),
        ["Affinity:MaxConversations"] = (1, 10_000_000),
    };

    private static readonly Dictionary<string, (TimeSpan Min, TimeSpan Max)> DurationRanges = new(StringComparer.OrdinalIgnoreCase)
    {
        ["Retry:BudgetWindow"] = (TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(10)),
        ["Metrics:Window"] = (TimeSpan.FromSeconds(1), TimeSpan.FromDays(1)),
        ["Metrics:SuccessHalfLife"] = (TimeSpan.FromSeconds(1), TimeSpan.FromDays(1)),
        ["Metrics:SnapshotInterval"] = (TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(10)),
        ["Cache:DistributedTimeout"] = (TimeSpan.FromTicks(1), TimeSpan.FromMinutes(1)),
        ["Cache:DistributedRetryInterval"] = (TimeSpan.Zero, TimeSpan.FromHours(1)),
        ["Health:BreakDuration"] = (TimeSpan.FromMilliseconds(1), TimeSpan.FromDays(1)),
        ["Affinity:TimeToLive"] = (TimeSpan.FromSeconds(1), TimeSpan.FromDays(30)),
        ["Affinity:ProviderStateTimeToLive"] = (TimeSpan.FromSeconds(1), TimeSpan.FromDays(365)),
    };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task RouterConfiguration_FuzzedBadInput_FailsAtStartUpNamingFieldAndEndpoint()
    {
        int cases = ReliabilityScale.Count(ci: 2_000, full: 10_000);
        List<Setting> settings = Settings(typeof(LlmRouterOptions), [], null);
        Assert.Contains(settings, s => s.Path == "Endpoints:*:RequiresFinishReason"); // reflection reached the endpoints
        Assert.Contains(settings, s => s.Path == "Constraints:Tenants:*:AllowedRegions");
        foreach (string documented in NumberRanges.Keys.Concat(DurationRanges.Keys).Concat(Unconstrained.Keys))
        {
            Assert.Contains(settings, s => string.Equals(s.Path, documented, StringComparison.OrdinalIgnoreCase));
        }

        var random = new Random(20260901);
        var tally = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var failures = new List<string>();
        var watch = System.Diagnostics.Stopwatch.StartNew();
        for (int i = 0; i < cases; i++)
        {
            int seed = random.Next();
            FuzzCase fuzz = Generate(new Random(seed), settings, control: i % 10 == 0);
            tally[fuzz.Kind] = tally.GetValueOrDefault(fuzz.Kind) + 1;
            Exception? outcome = await StartAsync(fuzz.Json, fuzz.Registered, viaHost: i % 20 == 1);
            if (Judge(fuzz, outcome) is { } problem && failures.Count < 20)
            {
                failures.Add($"seed {seed} ({fuzz.Kind} {fuzz.Field}): {problem}\n  json: {Shorten(fuzz.Json)}");
            }
        }

        ReliabilityScale.Report($"{cases} configuration cases in {watch.Elapsed.TotalSeconds:0.0} s over {settings.Count} settings: " +
            string.Join(", ", tally.Select(t => $"{t.Key} {t.Value}")));
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public void HttpResilienceConfiguration_FuzzedBadInput_FailsAtStartUpNamingFieldAndClient()
    {
        int cases = ReliabilityScale.Count(ci: 500, full: 2_000);
        List<Setting> settings = Settings(typeof(LlmResilienceOptions), [], null);
        var random = new Random(20260902);
        var failures = new List<string>();
        int rejected = 0;
        for (int i = 0; i < cases; i++)
        {
            int seed = random.Next();
            var rng = new Random(seed);
            Setting setting = settings[rng.Next(settings.Count)];

            // The library does not bind these options from configuration: the application does, with the binder, so
            // only what the binder passes on is the library's to reject: unconvertible text and out-of-range values.
            List<Fault> faults = [.. OutOfRange(setting), .. Unconvertible(setting)];
            if (faults.Count == 0)
            {
                continue;
            }

            Fault fault = faults[rng.Next(faults.Count)];
            string client = rng.Next(2) == 0 ? "openai" : "anthropic";
            var raws = new Dictionary<string, string>();
            JsonNode? value = fault.Raw is { } raw ? Marker(raws, raw) : fault.Value?.DeepClone();
            var node = new JsonObject { ["LlmResilience"] = new JsonObject { [client] = new JsonObject { [setting.Name] = value } } };
            string json = Render(node, raws);
            Exception? outcome = Catch(() =>
            {
                IConfiguration configuration = Build(json);
                var services = new ServiceCollection();
                _ = services.AddHttpClient(client).AddLlmResilienceHandler();
                _ = services.Configure<LlmResilienceOptions>(client, configuration.GetSection($"LlmResilience:{client}"));
                using ServiceProvider provider = services.BuildServiceProvider();
                _ = provider.GetRequiredService<IOptionsMonitor<LlmResilienceOptions>>().Get(client);
            });

            string? problem = outcome switch
            {
                null => "accepted",
                OptionsValidationException e when Names(e.Message, setting.Name, client) => null,
                InvalidOperationException e when e.Message.Contains("Failed to convert", StringComparison.Ordinal) && Names(e.Message, setting.Name, client) => null,
                _ => $"{outcome.GetType().Name}: {outcome.Message}",
            };
            rejected += outcome is null ? 0 : 1;
            if (problem is not null && failures.Count < 20)
            {
                failures.Add($"seed {seed} ({setting.Name} = {fault.Describe}): {problem}");
            }
        }

        ReliabilityScale.Report($"{cases} HTTP resilience cases, {rejected} rejected");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    /// <summary>A bindable setting: its path under the section (entries of a dictionary as '*'), its type and nullability.</summary>
    private sealed record Setting(string Path, string Name, Type Type, bool Nullable, SettingShape Shape, string? Entry)
    {
        public Type Target => System.Nullable.GetUnderlyingType(Type) ?? Type;

        public bool IsUnconstrained => Unconstrained.ContainsKey(Path);
    }

    private enum SettingShape
    {
        Value,
        List,
        Section,
        Dictionary,
    }

    /// <summary>One generated configuration: its JSON, the endpoints with a registered client, and what the fault is.</summary>
    private sealed record FuzzCase(string Kind, string? Field, string? Entry, string Json, string[] Registered)
    {
        public bool Control => Kind == "control";
    }

    /// <summary>A bad value: a JSON node, or raw JSON text that a node cannot hold (1e400).</summary>
    private sealed record Fault(string Kind, JsonNode? Value, string? Raw = null)
    {
        public string Describe => Raw ?? Value?.ToJsonString() ?? "null";
    }

    private static List<Setting> Settings(Type type, List<string> path, string? entry)
    {
        var settings = new List<Setting>();
        var nullability = new NullabilityInfoContext();
        foreach (PropertyInfo property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetIndexParameters().Length > 0 || typeof(Delegate).IsAssignableFrom(property.PropertyType))
            {
                continue; // Randomizer: a function, set in code only (the shape check rejects it in configuration)
            }

            List<string> here = [.. path, property.Name];
            string joined = string.Join(':', here);
            bool nullable = Nullable.GetUnderlyingType(property.PropertyType) is not null ||
                (!property.PropertyType.IsValueType && nullability.Create(property).WriteState != NullabilityState.NotNull);
            Type target = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            if (IsScalar(target))
            {
                settings.Add(new Setting(joined, property.Name, property.PropertyType, nullable, SettingShape.Value, entry));
            }
            else if (target.IsGenericType && target.GetGenericTypeDefinition() == typeof(IDictionary<,>))
            {
                settings.Add(new Setting(joined, property.Name, target, nullable, SettingShape.Dictionary, entry));
                settings.AddRange(Settings(target.GetGenericArguments()[1], [.. here, "*"], property.Name));
            }
            else if (target.IsGenericType && target.GetGenericTypeDefinition() == typeof(IList<>))
            {
                settings.Add(new Setting(joined, property.Name, target, nullable, SettingShape.List, entry));
            }
            else
            {
                settings.Add(new Setting(joined, property.Name, target, nullable, SettingShape.Section, entry));
                settings.AddRange(Settings(target, here, entry));
            }
        }

        return settings;
    }

    private static bool IsScalar(Type type) =>
        type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(TimeSpan);

    private static FuzzCase Generate(Random random, List<Setting> settings, bool control)
    {
        JsonObject root = BaseSection();
        var raws = new Dictionary<string, string>();
        AddNoise(random, root, settings);
        string[] registered = EndpointNames;
        if (control)
        {
            return new FuzzCase("control", null, null, Render(new JsonObject { [Section] = root }, raws), registered);
        }

        // Faults that are not about one setting's value.
        int special = random.Next(16);
        if (special == 0)
        {
            _ = root.Remove("Endpoints");
            return new FuzzCase("missing-endpoints", "Endpoints", null, Render(new JsonObject { [Section] = root }, raws), []);
        }

        if (special == 1)
        {
            // Configured, but no client is registered under its name.
            ((JsonObject)root["Endpoints"]!)["ghost"] = new JsonObject { ["Priority"] = 2 };
            return new FuzzCase("missing-client", null, "ghost", Render(new JsonObject { [Section] = root }, raws), registered);
        }

        if (special == 2)
        {
            // The same endpoint twice (names ignore case).
            string name = EndpointNames[random.Next(EndpointNames.Length)];
            string text = Render(new JsonObject { [Section] = root }, raws);
            string duplicate = random.Next(2) == 0 ? name : name.ToUpperInvariant();
            text = text.Replace($"\"{name}\":{{", $"\"{duplicate}\":{{\"Priority\":5}},\"{name}\":{{", StringComparison.Ordinal);
            return new FuzzCase("duplicate-endpoint", null, name, text, registered);
        }

        if (special == 3)
        {
            // An endpoint or a tenant given as a single value instead of a section of settings.
            bool tenant = random.Next(2) == 0;
            string name = tenant ? Tenant : EndpointNames[random.Next(EndpointNames.Length)];
            JsonObject entries = tenant ? (JsonObject)root["Constraints"]!["Tenants"]! : (JsonObject)root["Endpoints"]!;
            entries[name] = random.Next(2) == 0 ? JsonValue.Create("x") : JsonValue.Create(7);
            return new FuzzCase("value-for-entry", null, name, Render(new JsonObject { [Section] = root }, raws), registered);
        }

        Setting setting = settings[random.Next(settings.Count)];
        string entry = setting.Entry switch
        {
            "Endpoints" => EndpointNames[random.Next(EndpointNames.Length)],
            "Tenants" => Tenant,
            _ => string.Empty,
        };
        string[] segments = setting.Path.Replace("*", entry, StringComparison.Ordinal).Split(':');
        JsonObject parent = Parent(root, segments);
        string key = segments[^1];
        foreach (string existing in parent.Select(p => p.Key).Where(k => string.Equals(k, key, StringComparison.OrdinalIgnoreCase)).ToList())
        {
            _ = parent.Remove(existing); // noise may have written it in another case
        }

        var faults = new List<Fault>();
        faults.AddRange(OutOfRange(setting));
        faults.AddRange(Unconvertible(setting));
        faults.AddRange(WrongShape(setting));
        if (!setting.Nullable && setting.Shape == SettingShape.Value)
        {
            faults.Add(new Fault("null", null));
        }

        faults.Add(new Fault("misspelled", JsonValue.Create(1)));
        faults.Add(new Fault("duplicate", JsonValue.Create(1)));
        Fault fault = faults[random.Next(faults.Count)];
        string field = setting.Name;
        string? named = setting.Entry is null ? null : entry;
        string json;
        switch (fault.Kind)
        {
            case "misspelled":
                string typo = Misspell(random, key);
                parent[typo] = DefaultValue(setting) ?? JsonValue.Create(1);
                json = Render(new JsonObject { [Section] = root }, raws);
                return new FuzzCase("misspelled", typo, named, json, registered);
            case "duplicate":
                // A key twice in one object, the second maybe in another case: the JSON provider refuses it.
                string value = SampleValue(setting, settings).ToJsonString();
                const string Placeholder = "@@duplicate@@";
                parent[key] = Placeholder;
                json = Render(new JsonObject { [Section] = root }, raws);
                string second = random.Next(2) == 0 ? key : key.ToLowerInvariant();
                json = json.Replace($"\"{key}\":\"{Placeholder}\"", $"\"{key}\":{value},\"{second}\":{value}", StringComparison.Ordinal);
                return new FuzzCase("duplicate", key, named, json, registered);
            default:
                parent[key] = fault.Raw is { } raw ? Marker(raws, raw) : fault.Value?.DeepClone();
                json = Render(new JsonObject { [Section] = root }, raws);
                return new FuzzCase(fault.Kind, field, named, json, registered);
        }
    }

    /// <summary>A valid section: two endpoints and one tenant, the rest left to the defaults.</summary>
    private static JsonObject BaseSection() => new()
    {
        ["Endpoints"] = new JsonObject
        {
            ["openai"] = new JsonObject { ["Priority"] = 0, ["InputCostPerMillionTokens"] = 2.5 },
            ["local"] = new JsonObject { ["Priority"] = 1, ["Region"] = "eu-west" },
        },
        ["Constraints"] = new JsonObject { ["Tenants"] = new JsonObject { [Tenant] = new JsonObject { ["AllowedRegions"] = new JsonArray("eu") } } },
    };

    /// <summary>Harmless variation: a few settings written with their default value, in any case, numbers sometimes as strings.</summary>
    private static void AddNoise(Random random, JsonObject root, List<Setting> settings)
    {
        int count = random.Next(4);
        for (int i = 0; i < count; i++)
        {
            Setting setting = settings[random.Next(settings.Count)];
            if (setting.Shape != SettingShape.Value || DefaultValue(setting) is not { } value)
            {
                continue;
            }

            string entry = setting.Entry == "Tenants" ? Tenant : EndpointNames[random.Next(EndpointNames.Length)];
            string[] segments = setting.Path.Replace("*", entry, StringComparison.Ordinal).Split(':');
            JsonObject parent = Parent(root, segments);
            if (parent.ContainsKey(segments[^1]))
            {
                continue;
            }

            string key = random.Next(3) switch
            {
                0 => segments[^1].ToLowerInvariant(),
                1 => segments[^1].ToUpperInvariant(),
                _ => segments[^1],
            };
            if (parent.Any(p => string.Equals(p.Key, key, StringComparison.OrdinalIgnoreCase)))
            {
                continue;
            }

            parent[key] = random.Next(2) == 0 && value.GetValueKind() == System.Text.Json.JsonValueKind.Number
                ? JsonValue.Create(value.ToJsonString())
                : value;
        }
    }

    /// <summary>A valid, non-empty value of a setting (an empty section binds to nothing, so two of them are no conflict).</summary>
    private static JsonNode SampleValue(Setting setting, List<Setting> settings)
    {
        if (DefaultValue(setting) is { } value)
        {
            return value;
        }

        Type type = setting.Target;
        switch (setting.Shape)
        {
            case SettingShape.List:
                return new JsonArray("eu");
            case SettingShape.Dictionary:
                return setting.Name == "Tenants"
                    ? new JsonObject { [Tenant] = new JsonObject { ["NoFallbacks"] = false } }
                    : new JsonObject { [EndpointNames[0]] = new JsonObject { ["Priority"] = 0 } };
            case SettingShape.Section:
                // A child with a default writes it; a section whose children all default to null (Budget) gets a sample.
                Setting child = settings.FirstOrDefault(s => s.Shape == SettingShape.Value && s.Path.StartsWith(setting.Path + ":", StringComparison.Ordinal) && DefaultValue(s) is not null)
                    ?? settings.First(s => s.Shape == SettingShape.Value && s.Path.StartsWith(setting.Path + ":", StringComparison.Ordinal));
                return new JsonObject { [child.Name] = SampleValue(child, settings) };
            default:
                return type == typeof(TimeSpan) ? JsonValue.Create("00:00:01")
                    : type == typeof(string) ? JsonValue.Create("x")
                    : type.IsEnum ? JsonValue.Create(Enum.GetNames(type)[0])
                    : JsonValue.Create(1);
        }
    }

    /// <summary>The default of a setting as JSON (from a fresh options instance); null when it has no value to write.</summary>
    private static JsonValue? DefaultValue(Setting setting)
    {
        object? owner = setting.Path.StartsWith("Endpoints:", StringComparison.Ordinal) ? new EndpointOptions()
            : setting.Path.StartsWith("Constraints:Tenants:", StringComparison.Ordinal) ? new TenantOptions()
            : setting.Path.StartsWith("Http:", StringComparison.Ordinal) ? new LlmResilienceOptions()
            : new LlmRouterOptions();
        string[] segments = setting.Path.Split(':');
        int start = owner is LlmRouterOptions ? 0 : Array.IndexOf(segments, "*") + 1;
        for (int i = start; i < segments.Length && owner is not null; i++)
        {
            owner = owner.GetType().GetProperty(segments[i])?.GetValue(owner);
        }

        return owner switch
        {
            null => null,
            bool b => JsonValue.Create(b),
            int n => JsonValue.Create(n),
            long n => JsonValue.Create(n),
            double d => JsonValue.Create(d),
            decimal m => JsonValue.Create(m),
            string s => JsonValue.Create(s),
            TimeSpan t => JsonValue.Create(t.ToString("c", CultureInfo.InvariantCulture)),
            Enum e => JsonValue.Create(e.ToString()),
            _ => null,
        };
    }

    /// <summary>Values outside what the setting accepts: what no setting of its type accepts, and beyond its documented range.</summary>
    private static List<Fault> OutOfRange(Setting setting)
    {
        var faults = new List<Fault>();
        if (setting.Shape != SettingShape.Value && setting.Shape != SettingShape.List)
        {
            return faults;
        }

        if (setting.IsUnconstrained)
        {
            return faults;
        }

        Type type = setting.Target;
        if (setting.Shape == SettingShape.List)
        {
            faults.Add(new Fault("out-of-range", new JsonArray("eu", "")));
            faults.Add(new Fault("out-of-range", new JsonArray("   ")));
            return faults;
        }

        if (type == typeof(int) || type == typeof(long))
        {
            faults.Add(new Fault("out-of-range", JsonValue.Create(-1)));
            faults.Add(new Fault("out-of-range", JsonValue.Create(int.MinValue)));
            if (Nullable.GetUnderlyingType(setting.Type) is not null)
            {
                faults.Add(new Fault("out-of-range", JsonValue.Create(0))); // limits and sizes are at least 1 when set
            }
        }
        else if (type == typeof(double))
        {
            faults.Add(new Fault("out-of-range", JsonValue.Create(-1)));
            faults.Add(new Fault("nan", JsonValue.Create("NaN")));
            faults.Add(new Fault("nan", JsonValue.Create("Infinity")));
            faults.Add(new Fault("nan", JsonValue.Create("-Infinity")));
            faults.Add(new Fault("huge", null, "1e400"));
        }
        else if (type == typeof(decimal))
        {
            faults.Add(new Fault("out-of-range", JsonValue.Create(-0.01m)));
            faults.Add(new Fault("out-of-range", null, "-79228162514264337593543950335"));
        }
        else if (type == typeof(TimeSpan))
        {
            faults.Add(new Fault("out-of-range", JsonValue.Create("-00:00:02")));
            faults.Add(new Fault("out-of-range", JsonValue.Create("-1.00:00:00")));
            if (!DurationRanges.TryGetValue(setting.Path, out (TimeSpan Min, TimeSpan Max) allowed) || allowed.Max < TimeSpan.FromDays(31))
            {
                faults.Add(new Fault("huge", JsonValue.Create("31.00:00:00"))); // past the usual one-day cap
            }

            faults.Add(new Fault("huge", JsonValue.Create(TimeSpan.MaxValue.ToString("c", CultureInfo.InvariantCulture))));
        }
        else if (type.IsEnum)
        {
            faults.Add(new Fault("out-of-range", JsonValue.Create("99")));
            faults.Add(new Fault("out-of-range", JsonValue.Create("-1")));
        }
        else if (type == typeof(string))
        {
            faults.Add(new Fault("empty", JsonValue.Create(string.Empty)));
            faults.Add(new Fault("empty", JsonValue.Create("   ")));
        }

        if (NumberRanges.TryGetValue(setting.Path, out (double Min, double Max) range))
        {
            bool integral = type == typeof(int) || type == typeof(long);
            double step = integral ? 1 : Math.Max(1e-6, (range.Max - range.Min) / 1000);
            faults.Add(new Fault("out-of-range", JsonValue.Create(range.Max + step)));
            faults.Add(new Fault("out-of-range", JsonValue.Create(range.Min - step)));
        }

        if (DurationRanges.TryGetValue(setting.Path, out (TimeSpan Min, TimeSpan Max) durations))
        {
            faults.Add(new Fault("out-of-range", JsonValue.Create((durations.Max + TimeSpan.FromTicks(1)).ToString("c", CultureInfo.InvariantCulture))));
            if (durations.Min > TimeSpan.Zero)
            {
                faults.Add(new Fault("out-of-range", JsonValue.Create((durations.Min - TimeSpan.FromTicks(1)).ToString("c", CultureInfo.InvariantCulture))));
            }
        }

        return faults;
    }

    /// <summary>Text the setting's type cannot be read from.</summary>
    private static List<Fault> Unconvertible(Setting setting)
    {
        var faults = new List<Fault>();
        if (setting.Shape != SettingShape.Value)
        {
            return faults;
        }

        Type type = setting.Target;
        if (type == typeof(string))
        {
            return faults;
        }

        faults.Add(new Fault("wrong-type", JsonValue.Create("abc")));
        if (type == typeof(bool))
        {
            faults.Add(new Fault("wrong-type", JsonValue.Create(1)));
            faults.Add(new Fault("wrong-type", JsonValue.Create("yes")));
        }
        else if (type == typeof(int) || type == typeof(long))
        {
            faults.Add(new Fault("wrong-type", JsonValue.Create(2.5)));
            faults.Add(new Fault("wrong-type", null, "1e40"));
            faults.Add(new Fault("wrong-type", JsonValue.Create(true)));
        }
        else if (type == typeof(TimeSpan))
        {
            faults.Add(new Fault("wrong-type", JsonValue.Create("5 seconds")));
            faults.Add(new Fault("wrong-type", JsonValue.Create("00:00:60"))); // "25:00:00" would read as 25 days
        }
        else if (type.IsEnum)
        {
            faults.Add(new Fault("wrong-type", JsonValue.Create("NotAValue")));
        }

        if (Nullable.GetUnderlyingType(setting.Type) is null)
        {
            faults.Add(new Fault("wrong-type", JsonValue.Create(string.Empty))); // "" is "unset" only for a nullable setting
        }

        return faults;
    }

    /// <summary>A structure where a single value is expected, or a single value where a structure is.</summary>
    private static List<Fault> WrongShape(Setting setting) => setting.Shape switch
    {
        SettingShape.Value =>
        [
            new Fault("object-for-value", new JsonObject { ["Value"] = 1 }),
            new Fault("array-for-value", new JsonArray(1, 2)),
            new Fault("array-for-value", new JsonArray(new JsonArray("x"))),
        ],
        SettingShape.List =>
        [
            new Fault("value-for-list", JsonValue.Create("eu")),
            new Fault("object-for-list", new JsonObject { ["first"] = "eu" }),
        ],
        _ =>
        [
            new Fault("value-for-section", JsonValue.Create(5)),
            new Fault("value-for-section", JsonValue.Create("x")),
            new Fault("value-for-section", JsonValue.Create(true)),
        ],
    };

    private static string Misspell(Random random, string key) => random.Next(3) switch
    {
        0 => key + "s",
        1 => key.Length > 3 ? key.Remove(random.Next(1, key.Length - 1), 1) : key + "x",
        _ => "x" + key,
    };

    private static JsonObject Parent(JsonObject root, string[] segments)
    {
        JsonObject current = root;
        for (int i = 0; i < segments.Length - 1; i++)
        {
            if (current[segments[i]] is not JsonObject next)
            {
                next = [];
                current[segments[i]] = next;
            }

            current = next;
        }

        return current;
    }

    private static string Marker(Dictionary<string, string> raws, string raw)
    {
        string marker = $"@@raw{raws.Count}@@";
        raws[marker] = raw;
        return marker;
    }

    private static string Render(JsonObject node, Dictionary<string, string> raws)
    {
        string json = node.ToJsonString();
        foreach ((string marker, string raw) in raws)
        {
            json = json.Replace($"\"{marker}\"", raw, StringComparison.Ordinal);
        }

        return json;
    }

    private static IConfigurationRoot Build(string json) =>
        new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json))).Build();

    /// <summary>Starts the router from the JSON the way the README shows; the exception start-up threw, or null when it started.</summary>
    private static async Task<Exception?> StartAsync(string json, string[] registered, bool viaHost)
    {
        if (viaHost)
        {
            try
            {
                HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
                _ = builder.Configuration.AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json)));
                _ = builder.Logging.ClearProviders();
                foreach (string name in registered)
                {
                    _ = builder.Services.AddKeyedChatClient(name, new ScriptedChatClient(name));
                }

                _ = builder.Services.AddLlmRouter(builder.Configuration.GetSection(Section));
                using IHost host = builder.Build();
                await host.StartAsync(Ct);
                _ = host.Services.GetRequiredService<IChatClient>();
                await host.StopAsync(Ct);
                return null;
            }
#pragma warning disable CA1031 // The outcome is judged by the caller.
            catch (Exception exception)
#pragma warning restore CA1031
            {
                return exception is AggregateException { InnerExceptions.Count: 1 } aggregate ? aggregate.InnerException : exception;
            }
        }

        return Catch(() =>
        {
            IConfiguration configuration = Build(json);
            var services = new ServiceCollection();
            foreach (string name in registered)
            {
                _ = services.AddKeyedChatClient(name, new ScriptedChatClient(name));
            }

            _ = services.AddLlmRouter(configuration.GetSection(Section));
            using ServiceProvider provider = services.BuildServiceProvider();
            _ = provider.GetRequiredService<IChatClient>(); // validates, as the first resolution does without a host
        });
    }

    private static Exception? Catch(Action action)
    {
        try
        {
            action();
            return null;
        }
#pragma warning disable CA1031 // The outcome is judged by the caller.
        catch (Exception exception)
#pragma warning restore CA1031
        {
            return exception;
        }
    }

    /// <summary>Null when the outcome is right: a control starts; a fault fails at start-up with a message naming the field and entry.</summary>
    private static string? Judge(FuzzCase fuzz, Exception? outcome)
    {
        if (fuzz.Control)
        {
            return outcome is null ? null : $"a valid configuration was rejected: {outcome.GetType().Name}: {outcome.Message}";
        }

        if (outcome is null)
        {
            return "accepted: the bad input was not rejected at start-up";
        }

        string message = outcome is OptionsValidationException validation ? string.Join(" | ", validation.Failures) : outcome.Message;
        bool documentedType = outcome switch
        {
            OptionsValidationException e => e.OptionsType == typeof(LlmRouterOptions),
            FormatException e => e.Message.StartsWith("A duplicate key", StringComparison.Ordinal),
            InvalidOperationException e => e.Message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal),
            _ => false,
        };
        if (!documentedType)
        {
            return $"not a start-up validation failure: {outcome.GetType().Name}: {message}";
        }

        return Names(message, fuzz.Field, fuzz.Entry) ? null : $"the message does not name {fuzz.Field} / {fuzz.Entry}: {message}";
    }

    private static bool Names(string message, string? field, string? entry) =>
        (field is null || message.Contains(field, StringComparison.OrdinalIgnoreCase)) &&
        (entry is null || message.Contains(entry, StringComparison.OrdinalIgnoreCase));

    private static string Shorten(string json) => json.Length <= 600 ? json : json[..600] + "…";
}
