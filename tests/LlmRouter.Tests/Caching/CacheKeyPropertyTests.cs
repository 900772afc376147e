using System.Buffers;
using System.Reflection;
using System.Text.Json;
using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;

namespace LlmRouter.Tests.Caching;

/// <summary>
/// Properties of the cache key over seeded random requests: a request built twice has one key; any single change of a
/// covered field gives another; the order of dictionary insertions and of JSON object keys does not matter; the
/// partition (tenant, group) is part of the key, the per-request cache controls are not.
/// </summary>
public sealed class CacheKeyPropertyTests
{
    private const int Requests = 200;
    private const int Seed = 20260101;

    private static readonly ChatRole[] Roles = [ChatRole.User, ChatRole.Assistant, ChatRole.System, ChatRole.Tool];
    private static readonly string[] MediaTypes = ["image/png", "image/jpeg", "application/pdf", "audio/wav"];
    private static readonly string[] Words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa"];

    [Fact]
    public void EqualRequests_BuiltIndependently_HaveEqualKeys()
    {
        var keys = new HashSet<CacheKey>();
        for (int i = 0; i < Requests; i++)
        {
            Request first = Generate(Seed + i, reversed: false);
            Request second = Generate(Seed + i, reversed: false);
            Assert.NotSame(first.Messages, second.Messages);

            CacheKey a = Key(first);
            Assert.Equal(a, Key(second));
            Assert.Equal(a, Key(first)); // stable: computing it again (the writer is reused per thread) gives the same key
            Assert.True(keys.Add(a), $"request {i} collides with an earlier random request");
        }
    }

    [Fact]
    public void DictionaryInsertionOrder_AndJsonObjectKeyOrder_DoNotChangeTheKey()
    {
        for (int i = 0; i < Requests; i++)
        {
            Request forward = Generate(Seed + i, reversed: false);
            Request reversed = Generate(Seed + i, reversed: true);

            Assert.Equal(Key(forward), Key(reversed));
        }
    }

    [Fact]
    public void JsonFormatting_DoesNotChangeTheKey()
    {
        const string compact = """{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}},"required":["city"]}""";
        const string indented = """
            {
              "required": [ "city" ],
              "properties": {
                "days": { "type": "integer" },
                "city": { "type": "string" }
              },
              "type": "object"
            }
            """;

        CacheKey Of(string schema) => Key(new Request(
            RouterFactory.Hello(),
            new ChatOptions
            {
                ResponseFormat = ChatResponseFormat.ForJsonSchema(JsonDocument.Parse(schema).RootElement, "weather"),
                Tools = [AIFunctionFactory.CreateDeclaration("lookup", "looks up", JsonDocument.Parse(schema).RootElement)],
                AdditionalProperties = new() { ["extra"] = JsonDocument.Parse(schema).RootElement },
            }));

        Assert.Equal(Of(compact), Of(indented));
    }

    [Fact]
    public void AnySingleFieldChange_ChangesTheKey()
    {
        var applied = Mutations.ToDictionary(m => m.Name, _ => 0);
        for (int i = 0; i < Requests; i++)
        {
            CacheKey original = Key(Generate(Seed + i, reversed: false));
            var picker = new Random(Seed ^ i);
            foreach ((string name, Func<Request, Random, bool> mutate) in Mutations)
            {
                Request request = Generate(Seed + i, reversed: false);
                if (!mutate(request, picker))
                {
                    continue;
                }

                applied[name]++;
                CacheKey changed = Key(request);
                Assert.True(original != changed, $"request {i}: changing {name} did not change the key");
                Assert.Equal(original.Tenant, changed.Tenant);
            }
        }

        // Every kind of change was exercised many times over the random requests.
        Assert.All(applied, pair => Assert.True(pair.Value >= 10, $"{pair.Key} was applied only {pair.Value} time(s)"));
    }

    [Fact]
    public void TenantAndGroup_ChangeTheKey_AndItsDistributedForm()
    {
        (string? Tenant, string? Group)[] partitions =
        [
            (null, null), ("t1", null), ("t2", null), (null, "g1"), ("t1", "g1"), ("t1", "g2"),

            // Pairs a naive concatenation would confuse.
            ("a:g1:b", null), ("a", "b"), ("a:g1", "b"), ("a", "1:b"), ("t1:x", "g"), ("t1", "x:g"),
        ];
        var keys = new HashSet<CacheKey>();
        var distributed = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < Requests; i++)
        {
            keys.Clear();
            distributed.Clear();
            foreach ((string? tenant, string? group) in partitions)
            {
                Request request = Generate(Seed + i, reversed: false);
                _ = request.Options.WithRouting(h =>
                {
                    h.Tenant = tenant;
                    h.Group = group;
                });
                CacheKey key = Key(request);
                Assert.True(keys.Add(key), $"request {i}: partition ({tenant}, {group}) shares a key with another");
                Assert.True(distributed.Add(key.ToDistributedKey("llmrouter:")), $"request {i}: partition ({tenant}, {group}) shares a distributed key");
            }

            Assert.Single(keys.Select(k => (k.Hash, k.Check, k.Length)).Distinct()); // the request part is the same
        }
    }

    [Fact]
    public void CacheModeAndTimeToLiveHints_DoNotChangeTheKey()
    {
        for (int i = 0; i < Requests; i++)
        {
            CacheKey plain = Key(Generate(Seed + i, reversed: false));
            foreach (CacheMode mode in Enum.GetValues<CacheMode>())
            {
                Request hinted = Generate(Seed + i, reversed: false);
                _ = hinted.Options.WithRouting(h =>
                {
                    h.CacheMode = mode;
                    h.CacheTimeToLive = TimeSpan.FromMinutes(i + 1);
                });

                Assert.Equal(plain, Key(hinted));
            }
        }
    }

    [Fact]
    public void HintsAlone_AreTheSameAsNoAdditionalProperties()
    {
        var bare = new Request(RouterFactory.Hello(), new ChatOptions());
        var empty = new Request(RouterFactory.Hello(), new ChatOptions { AdditionalProperties = [] });
        var hinted = new Request(RouterFactory.Hello(), new ChatOptions().WithRouting(h => h.CacheMode = CacheMode.NoStore));

        Assert.Equal(Key(bare), Key(empty));
        Assert.Equal(Key(bare), Key(hinted));
    }

    [Fact]
    public void NullOptions_HaveTheSameKeyAsEmptyOptions_OrOptionsWithOnlyHints()
    {
        Assert.True(CacheKeyBuilder.TryCreate(RouterFactory.Hello(), null, null, out CacheKey none, out _));
        var hinted = new ChatOptions().WithRouting(h => h.CacheTimeToLive = TimeSpan.FromMinutes(1));

        Assert.Equal(none, Key(new Request(RouterFactory.Hello(), new ChatOptions())));
        Assert.Equal(none, Key(new Request(RouterFactory.Hello(), hinted)));
    }

    [Fact]
    public void EveryPublicSettableChatOptionsProperty_IsCoveredOrMakesTheRequestUncacheable()
    {
        string[] settable = [.. typeof(ChatOptions)
            .GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.SetMethod is { IsPublic: true })
            .Select(p => p.Name)
            .Order(StringComparer.Ordinal)];
        string[] known = [.. CacheKeyBuilder.CoveredOptions.Concat(CacheKeyBuilder.UncacheableOptions).Order(StringComparer.Ordinal)];

        Assert.Empty(settable.Except(known, StringComparer.Ordinal)); // a new Microsoft.Extensions.AI property lands here
        Assert.Empty(known.Except(settable, StringComparer.Ordinal)); // and the lists name only real properties
        Assert.Empty(CacheKeyBuilder.CoveredOptions.Intersect(CacheKeyBuilder.UncacheableOptions, StringComparer.Ordinal));
        Assert.Equal(known.Length, known.Distinct(StringComparer.Ordinal).Count());
    }

    public static TheoryData<string> UncacheableCases => ["ConversationId", "ContinuationToken", "AllowBackgroundResponses", "RawRepresentationFactory"];

    [Theory]
    [MemberData(nameof(UncacheableCases))]
    public void ProviderStateOptions_HaveNoKey(string field)
    {
        ChatOptions options = Uncacheable(field);

        Assert.False(CacheKeyBuilder.TryCreate(RouterFactory.Hello(), options, null, out _, out string? reason));
        Assert.Contains(field, reason, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(UncacheableCases))]
    public async Task ProviderStateOptions_AreNeverCached_EveryRequestGoesUpstream(string field)
    {
        var a = new CountingChatClient("a");
        using RouterChatClient router = CacheRouter.Create(new ObservableFakeTimeProvider(), null, ("a", a));

        for (int i = 1; i <= 3; i++)
        {
            ChatResponse response = await router.GetResponseAsync(RouterFactory.Hello(), Uncacheable(field), TestContext.Current.CancellationToken);

            Assert.Equal($"a answer #{i}", response.Text);
            Assert.Equal(CacheResult.NotUsed, response.GetRoutingInfo()!.Cache);
        }

        Assert.Equal(3, a.Calls);
        Assert.Equal((0L, 0L), router.Cache.MemoryUsage);
    }

    [Fact]
    public void AllowBackgroundResponsesFalse_IsCacheable()
    {
        Assert.True(CacheKeyBuilder.TryCreate(RouterFactory.Hello(), new ChatOptions { AllowBackgroundResponses = false }, null, out _, out _));
    }

    public static TheoryData<string> UnwritableValues => ["type", "cycle", "delegate"];

    [Theory]
    [MemberData(nameof(UnwritableValues))]
    public async Task AValueThatCannotBeWrittenCanonically_MakesTheRequestUncacheable_NotFailed(string kind)
    {
        object value = kind switch
        {
            "type" => typeof(string),
            "cycle" => Cycle(),
            _ => (Func<int>)(() => 1),
        };
        var a = new CountingChatClient("a");
        using RouterChatClient router = CacheRouter.Create(new ObservableFakeTimeProvider(), null, ("a", a));

        Assert.False(CacheKeyBuilder.TryCreate(RouterFactory.Hello(), new ChatOptions { AdditionalProperties = new() { ["x"] = value } }, null, out _, out string? reason));
        Assert.Contains("canonically", reason, StringComparison.Ordinal);
        for (int i = 0; i < 2; i++)
        {
            ChatResponse response = await router.GetResponseAsync(
                RouterFactory.Hello(), new ChatOptions { AdditionalProperties = new() { ["x"] = value } }, TestContext.Current.CancellationToken);
            Assert.Equal(CacheResult.NotUsed, response.GetRoutingInfo()!.Cache);
        }

        Assert.Equal(2, a.Calls);

        static object Cycle()
        {
            var node = new Node();
            node.Next = node;
            return node;
        }
    }

    internal static CacheKey Key(Request request)
    {
        Assert.True(
            CacheKeyBuilder.TryCreate(request.Messages, request.Options, request.Options.GetRoutingHints(), out CacheKey key, out string? reason),
            $"the request has no key: {reason}");
        return key;
    }

    private static ChatOptions Uncacheable(string field) => field switch
    {
        "ConversationId" => new ChatOptions { ConversationId = "conv-1" },
        "ContinuationToken" => new ChatOptions { ContinuationToken = ResponseContinuationToken.FromBytes(new byte[] { 1, 2, 3 }) },
        "AllowBackgroundResponses" => new ChatOptions { AllowBackgroundResponses = true },
        _ => new ChatOptions { RawRepresentationFactory = _ => null },
    };

    // ---- The generator: every draw is the same for a seed; 'reversed' only changes insertion order and JSON key order.

    internal sealed record Request(List<ChatMessage> Messages, ChatOptions Options);

    internal static Request Generate(int seed, bool reversed)
    {
        var r = new Random(seed);
        var messages = new List<ChatMessage>();
        int count = r.Next(1, 4);
        for (int i = 0; i < count; i++)
        {
            messages.Add(Message(r, reversed));
        }

        return new Request(messages, Options(r, reversed));
    }

    private static ChatMessage Message(Random r, bool reversed)
    {
        ChatRole role = Roles[r.Next(Roles.Length)];
        string? author = r.Next(2) == 0 ? null : Word(r);
        var contents = new List<AIContent>();
        int count = r.Next(1, 7);
        for (int i = 0; i < count; i++)
        {
            AIContent content = r.Next(6) switch
            {
                0 => new TextContent($"{Word(r)} {r.Next(1000)}"),
                1 => new DataContent(RandomBytes(r), MediaTypes[r.Next(MediaTypes.Length)]),
                2 => new UriContent(new Uri($"https://example.com/{Word(r)}/{r.Next(1000)}"), MediaTypes[r.Next(MediaTypes.Length)]),
                3 => new FunctionCallContent($"call_{r.Next(1000)}", Word(r), Arguments(r, reversed)),
                4 => new FunctionResultContent($"call_{r.Next(1000)}", r.Next(2) == 0 ? $"result {r.Next(1000)}" : Json(JsonObject(r, 2), reversed)),
                _ => new TextReasoningContent($"thinking {Word(r)}"),
            };
            content.AdditionalProperties = r.Next(4) == 0 ? Properties(r, reversed) : null;
            contents.Add(content);
        }

        return new ChatMessage(role, contents)
        {
            AuthorName = author,
            AdditionalProperties = r.Next(3) == 0 ? Properties(r, reversed) : null,
        };
    }

    private static ChatOptions Options(Random r, bool reversed)
    {
        var options = new ChatOptions
        {
            ModelId = r.Next(2) == 0 ? null : $"model-{r.Next(10)}",
            Instructions = r.Next(2) == 0 ? null : $"Be {Word(r)}.",
            Temperature = r.Next(2) == 0 ? null : r.Next(0, 8) / 4f,
            TopP = r.Next(2) == 0 ? null : r.Next(1, 5) / 4f,
            TopK = r.Next(2) == 0 ? null : r.Next(1, 100),
            MaxOutputTokens = r.Next(2) == 0 ? null : r.Next(1, 4000),
            FrequencyPenalty = r.Next(2) == 0 ? null : r.Next(-4, 4) / 4f,
            PresencePenalty = r.Next(2) == 0 ? null : r.Next(-4, 4) / 4f,
            Seed = r.Next(2) == 0 ? null : r.NextInt64(),
            Reasoning = r.Next(2) == 0 ? null : new ReasoningOptions
            {
                Effort = r.Next(2) == 0 ? null : (ReasoningEffort)r.Next(0, 4),
                Output = r.Next(2) == 0 ? null : (ReasoningOutput)r.Next(0, 3),
            },
            AllowMultipleToolCalls = r.Next(3) switch { 0 => null, 1 => true, _ => false },
        };

        if (r.Next(2) == 0)
        {
            options.StopSequences = [.. Enumerable.Range(0, r.Next(1, 4)).Select(_ => Word(r))];
        }

        if (r.Next(3) != 0)
        {
            int tools = r.Next(1, 4);
            options.Tools = [];
            for (int i = 0; i < tools; i++)
            {
                options.Tools.Add(AIFunctionFactory.CreateDeclaration($"tool_{i}_{Word(r)}", $"Does {Word(r)}.", Json(Schema(r), reversed)));
            }
        }

        options.ToolMode = r.Next(5) switch
        {
            0 => null,
            1 => ChatToolMode.Auto,
            2 => ChatToolMode.None,
            3 => ChatToolMode.RequireAny,
            _ => ChatToolMode.RequireSpecific($"tool_0_{Word(r)}"),
        };

        options.ResponseFormat = r.Next(4) switch
        {
            0 => null,
            1 => ChatResponseFormat.Text,
            2 => ChatResponseFormat.Json,
            _ => ChatResponseFormat.ForJsonSchema(Json(Schema(r), reversed), $"schema_{Word(r)}", r.Next(2) == 0 ? null : "A schema."),
        };

        options.AdditionalProperties = r.Next(2) == 0 ? null : Properties(r, reversed);
        return options;
    }

    private static AdditionalPropertiesDictionary Properties(Random r, bool reversed)
    {
        var pairs = new List<(string, object?)>();
        int count = r.Next(1, 5);
        for (int i = 0; i < count; i++)
        {
            object? value = r.Next(5) switch
            {
                0 => null,
                1 => $"value {r.Next(1000)}",
                2 => r.Next(1000),
                3 => r.Next(2) == 0,
                _ => Json(JsonObject(r, 2), reversed),
            };
            pairs.Add(($"p{i}_{Word(r)}", value));
        }

        if (reversed)
        {
            pairs.Reverse();
        }

        var properties = new AdditionalPropertiesDictionary();
        foreach ((string name, object? value) in pairs)
        {
            properties.Add(name, value);
        }

        return properties;
    }

    private static Dictionary<string, object?>? Arguments(Random r, bool reversed)
    {
        int count = r.Next(-1, 4);
        if (count < 0)
        {
            return null;
        }

        var pairs = new List<(string, object?)>();
        for (int i = 0; i < count; i++)
        {
            object? value = r.Next(3) switch
            {
                0 => $"arg {r.Next(1000)}",
                1 => r.Next(1000),
                _ => Json(JsonObject(r, 1), reversed),
            };
            pairs.Add(($"a{i}_{Word(r)}", value));
        }

        if (reversed)
        {
            pairs.Reverse();
        }

        var arguments = new Dictionary<string, object?>();
        foreach ((string name, object? value) in pairs)
        {
            arguments.Add(name, value);
        }

        return arguments;
    }

    /// <summary>A JSON schema of an object with a few typed properties, as a tree (written in either key order by <see cref="Json"/>).</summary>
    private static List<(string, object)> Schema(Random r)
    {
        string[] types = ["string", "integer", "number", "boolean"];
        var properties = new List<(string, object)>();
        int count = r.Next(1, 5);
        for (int i = 0; i < count; i++)
        {
            properties.Add(($"f{i}_{Word(r)}", new List<(string, object)> { ("type", types[r.Next(types.Length)]), ("description", $"the {Word(r)}") }));
        }

        return [("type", "object"), ("properties", properties), ("required", new object[] { "f0_" })];
    }

    private static List<(string, object)> JsonObject(Random r, int depth)
    {
        var members = new List<(string, object)>();
        int count = r.Next(1, 4);
        for (int i = 0; i < count; i++)
        {
            object value = r.Next(depth > 0 ? 5 : 4) switch
            {
                0 => Word(r),
                1 => (long)r.Next(1000),
                2 => r.Next(2) == 0,
                3 => new object[] { Word(r), (long)r.Next(10) },
                _ => JsonObject(r, depth - 1),
            };
            members.Add(($"k{i}_{Word(r)}", value));
        }

        return members;
    }

    /// <summary>Writes a JSON tree with every object's members in their order or reversed.</summary>
    internal static JsonElement Json(List<(string, object)> tree, bool reversed)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            Write(writer, tree, reversed);
        }

        using JsonDocument document = JsonDocument.Parse(buffer.WrittenMemory);
        return document.RootElement.Clone();

        static void Write(Utf8JsonWriter writer, object value, bool reversed)
        {
            switch (value)
            {
                case List<(string, object)> members:
                    writer.WriteStartObject();
                    IEnumerable<(string, object)> ordered = reversed ? Enumerable.Reverse(members) : members;
                    foreach ((string name, object member) in ordered)
                    {
                        writer.WritePropertyName(name);
                        Write(writer, member, reversed);
                    }

                    writer.WriteEndObject();
                    break;
                case object[] items:
                    writer.WriteStartArray();
                    foreach (object item in items)
                    {
                        Write(writer, item, reversed);
                    }

                    writer.WriteEndArray();
                    break;
                case string text:
                    writer.WriteStringValue(text);
                    break;
                case long number:
                    writer.WriteNumberValue(number);
                    break;
                case bool flag:
                    writer.WriteBooleanValue(flag);
                    break;
                default:
                    throw new InvalidOperationException($"Unexpected {value.GetType()}.");
            }
        }
    }

    private static string Word(Random r) => Words[r.Next(Words.Length)];

    private static byte[] RandomBytes(Random r)
    {
        byte[] bytes = new byte[r.Next(1, 17)];
        r.NextBytes(bytes);
        return bytes;
    }

    // ---- Single-field changes. Each returns false when the request has no such field to change.

    private static readonly (string Name, Func<Request, Random, bool> Apply)[] Mutations =
    [
        ("message role", (q, r) => OnMessage(q, r, m => m.Role = Roles[(Array.IndexOf(Roles, m.Role) + 1) % Roles.Length])),
        ("message author name", (q, r) => OnMessage(q, r, m => m.AuthorName = m.AuthorName is null ? "someone" : m.AuthorName + "x")),
        ("message additional property", (q, r) => OnMessage(q, r, m => (m.AdditionalProperties ??= [])["zz_added"] = "v")),
        ("message added", (q, _) =>
        {
            q.Messages.Add(new ChatMessage(ChatRole.User, "one more"));
            return true;
        }),
        ("message removed", (q, _) =>
        {
            if (q.Messages.Count < 2)
            {
                return false;
            }

            q.Messages.RemoveAt(q.Messages.Count - 1);
            return true;
        }),
        ("content removed", (q, r) => OnMessage(q, r, m => m.Contents.RemoveAt(m.Contents.Count - 1))),
        ("content additional property", (q, r) => OnContent<AIContent>(q, r, (c, _) => (c.AdditionalProperties ??= [])["zz_added"] = 1)),
        ("text", (q, r) => OnContent<TextContent>(q, r, (c, _) => c.Text += "!")),
        ("reasoning text", (q, r) => OnContent<TextReasoningContent>(q, r, (c, _) => c.Text += "!")),
        ("data bytes", (q, r) => OnContent<DataContent>(q, r, (c, replace) =>
        {
            byte[] bytes = c.Data.ToArray();
            bytes[^1] ^= 0x5A;
            replace(new DataContent(bytes, c.MediaType) { AdditionalProperties = c.AdditionalProperties });
        })),
        ("data length", (q, r) => OnContent<DataContent>(q, r, (c, replace) =>
            replace(new DataContent(c.Data.ToArray().Append((byte)0).ToArray(), c.MediaType) { AdditionalProperties = c.AdditionalProperties }))),
        ("data media type", (q, r) => OnContent<DataContent>(q, r, (c, replace) =>
            replace(new DataContent(c.Data, OtherMediaType(c.MediaType)) { AdditionalProperties = c.AdditionalProperties }))),
        ("uri", (q, r) => OnContent<UriContent>(q, r, (c, replace) =>
            replace(new UriContent(new Uri(c.Uri.OriginalString + "x"), c.MediaType) { AdditionalProperties = c.AdditionalProperties }))),
        ("uri media type", (q, r) => OnContent<UriContent>(q, r, (c, replace) =>
            replace(new UriContent(c.Uri, OtherMediaType(c.MediaType)) { AdditionalProperties = c.AdditionalProperties }))),
        ("function call id", (q, r) => OnContent<FunctionCallContent>(q, r, (c, replace) =>
            replace(new FunctionCallContent(c.CallId + "x", c.Name, c.Arguments) { AdditionalProperties = c.AdditionalProperties }))),
        ("function call name", (q, r) => OnContent<FunctionCallContent>(q, r, (c, replace) =>
            replace(new FunctionCallContent(c.CallId, c.Name + "x", c.Arguments) { AdditionalProperties = c.AdditionalProperties }))),
        ("function call argument added", (q, r) => OnContent<FunctionCallContent>(q, r, (c, _) => (c.Arguments ??= new Dictionary<string, object?>())["zz_added"] = "v")),
        ("function call argument value", (q, r) => OnContent<FunctionCallContent>(q, r, (c, _) =>
        {
            if (c.Arguments is not { Count: > 0 } arguments)
            {
                throw new SkipMutation();
            }

            string name = arguments.Keys.First();
            arguments[name] = arguments[name] is string text ? text + "x" : "replaced";
        })),
        ("function result call id", (q, r) => OnContent<FunctionResultContent>(q, r, (c, replace) =>
            replace(new FunctionResultContent(c.CallId + "x", c.Result) { AdditionalProperties = c.AdditionalProperties }))),
        ("function result value", (q, r) => OnContent<FunctionResultContent>(q, r, (c, _) => c.Result = c.Result is string text ? text + "x" : "replaced")),
        ("model id", (q, _) => Set(() => q.Options.ModelId = q.Options.ModelId + "x")),
        ("instructions", (q, _) => Set(() => q.Options.Instructions = q.Options.Instructions + "x")),
        ("temperature", (q, _) => Set(() => q.Options.Temperature = q.Options.Temperature is { } t ? t + 0.25f : 0.5f)),
        ("top-p", (q, _) => Set(() => q.Options.TopP = q.Options.TopP is { } t ? t / 2 : 0.5f)),
        ("top-k", (q, _) => Set(() => q.Options.TopK = q.Options.TopK is { } k ? k + 1 : 5)),
        ("max output tokens", (q, _) => Set(() => q.Options.MaxOutputTokens = q.Options.MaxOutputTokens is { } m ? m + 1 : 100)),
        ("frequency penalty", (q, _) => Set(() => q.Options.FrequencyPenalty = q.Options.FrequencyPenalty is { } p ? p + 0.5f : 0.5f)),
        ("presence penalty", (q, _) => Set(() => q.Options.PresencePenalty = q.Options.PresencePenalty is { } p ? p + 0.5f : 0.5f)),
        ("frequency penalty unset", (q, _) => q.Options.FrequencyPenalty is not null && Set(() => q.Options.FrequencyPenalty = null)),
        ("seed", (q, _) => Set(() => q.Options.Seed = q.Options.Seed is { } s ? s ^ 1 : 42)),
        ("reasoning set or unset", (q, _) => Set(() => q.Options.Reasoning = q.Options.Reasoning is null ? new ReasoningOptions() : null)),
        ("reasoning effort", (q, _) => q.Options.Reasoning is { } reasoning && Set(() => reasoning.Effort = reasoning.Effort is { } e ? (ReasoningEffort)(((int)e + 1) % 4) : ReasoningEffort.High)),
        ("reasoning output", (q, _) => q.Options.Reasoning is { } reasoning && Set(() => reasoning.Output = reasoning.Output is { } o ? (ReasoningOutput)(((int)o + 1) % 3) : ReasoningOutput.Full)),
        ("stop sequence added", (q, _) => Set(() => (q.Options.StopSequences ??= []).Add("STOP"))),
        ("stop sequence changed", (q, _) => q.Options.StopSequences is { Count: > 0 } stops && Set(() => stops[0] += "x")),
        ("tool added", (q, _) => Set(() => (q.Options.Tools ??= []).Add(AIFunctionFactory.CreateDeclaration("added", null, Json(Schema(new Random(1)), false))))),
        ("tool name", (q, _) => OnTool(q, f => AIFunctionFactory.CreateDeclaration(f.Name + "x", f.Description, f.JsonSchema))),
        ("tool description", (q, _) => OnTool(q, f => AIFunctionFactory.CreateDeclaration(f.Name, f.Description + "x", f.JsonSchema))),
        ("tool schema", (q, _) => OnTool(q, f => AIFunctionFactory.CreateDeclaration(f.Name, f.Description, ChangedSchema(f.JsonSchema)))),
        ("tool mode", (q, _) => Set(() => q.Options.ToolMode = q.Options.ToolMode switch
        {
            null => ChatToolMode.Auto,
            AutoChatToolMode => ChatToolMode.None,
            NoneChatToolMode => ChatToolMode.RequireAny,
            RequiredChatToolMode { RequiredFunctionName: null } => ChatToolMode.RequireSpecific("f"),
            _ => null,
        })),
        ("required function name", (q, _) => q.Options.ToolMode is RequiredChatToolMode { RequiredFunctionName: { } name } &&
            Set(() => q.Options.ToolMode = ChatToolMode.RequireSpecific(name + "x"))),
        ("response format", (q, _) => Set(() => q.Options.ResponseFormat = q.Options.ResponseFormat switch
        {
            null => ChatResponseFormat.Text,
            ChatResponseFormatText => ChatResponseFormat.Json,
            ChatResponseFormatJson { Schema: null } => ChatResponseFormat.ForJsonSchema(Json(Schema(new Random(2)), false), "s"),
            _ => null,
        })),
        ("response format schema", (q, _) => q.Options.ResponseFormat is ChatResponseFormatJson { Schema: { } schema } json &&
            Set(() => q.Options.ResponseFormat = ChatResponseFormat.ForJsonSchema(ChangedSchema(schema), json.SchemaName, json.SchemaDescription))),
        ("response format schema name", (q, _) => q.Options.ResponseFormat is ChatResponseFormatJson { Schema: { } schema } json &&
            Set(() => q.Options.ResponseFormat = ChatResponseFormat.ForJsonSchema(schema, json.SchemaName + "x", json.SchemaDescription))),
        ("allow multiple tool calls", (q, _) => Set(() => q.Options.AllowMultipleToolCalls = q.Options.AllowMultipleToolCalls switch
        {
            null => true,
            true => false,
            false => null,
        })),
        ("additional property added", (q, _) => Set(() => (q.Options.AdditionalProperties ??= [])["zz_added"] = "v")),
        ("additional property value", (q, _) => q.Options.AdditionalProperties is { Count: > 0 } properties && Set(() =>
        {
            string name = properties.Keys.First();
            properties[name] = properties[name] is string text ? text + "x" : "replaced";
        })),
    ];

    private static bool Set(Action change)
    {
        change();
        return true;
    }

    private static bool OnMessage(Request request, Random r, Action<ChatMessage> change)
    {
        change(request.Messages[r.Next(request.Messages.Count)]);
        return true;
    }

    private static bool OnContent<T>(Request request, Random r, Action<T, Action<AIContent>> change)
        where T : AIContent
    {
        var found = new List<(ChatMessage Message, int Index)>();
        foreach (ChatMessage message in request.Messages)
        {
            for (int i = 0; i < message.Contents.Count; i++)
            {
                if (message.Contents[i] is T)
                {
                    found.Add((message, i));
                }
            }
        }

        if (found.Count == 0)
        {
            return false;
        }

        (ChatMessage target, int index) = found[r.Next(found.Count)];
        try
        {
            change((T)target.Contents[index], replacement => target.Contents[index] = replacement);
        }
        catch (SkipMutation)
        {
            return false;
        }

        return true;
    }

    private static bool OnTool(Request request, Func<AIFunctionDeclaration, AITool> change)
    {
        if (request.Options.Tools is not { Count: > 0 } tools)
        {
            return false;
        }

        tools[^1] = change((AIFunctionDeclaration)tools[^1]);
        return true;
    }

    private static JsonElement ChangedSchema(JsonElement schema)
    {
        Dictionary<string, JsonElement> members = schema.EnumerateObject().ToDictionary(p => p.Name, p => p.Value);
        members["additionalProperties"] = JsonDocument.Parse("false").RootElement;
        return JsonSerializer.SerializeToElement(members);
    }

    private static string OtherMediaType(string mediaType) => MediaTypes[(Array.IndexOf(MediaTypes, mediaType) + 1) % MediaTypes.Length];

    private sealed class SkipMutation : Exception;

    private sealed class Node
    {
        public Node? Next { get; set; }
    }
}
