using System.IO.Hashing;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace LlmRouter;

/// <summary>
/// Computes the cache key of a request from its canonical form: every message (role, author, every content part by
/// type, additional properties) and every <see cref="ChatOptions"/> field that shapes the answer, dictionaries in
/// sorted key order, under a schema version; plus the tenant and group partition.
/// </summary>
/// <remarks>
/// Requests that depend on state held by one provider (<see cref="ChatOptions.ConversationId"/>,
/// <see cref="ChatOptions.ContinuationToken"/>, background responses) or that cannot be written canonically (a raw
/// representation factory, a value that does not serialize) have no key: they are never cached.
/// </remarks>
internal static class CacheKeyBuilder
{
    /// <summary>The version of the canonical form; bump it whenever what is written changes, so old entries are never read.</summary>
    public const int SchemaVersion = 1;

    /// <summary>The <see cref="ChatOptions"/> properties the key covers (a test checks this list against the type by reflection).</summary>
    internal static readonly string[] CoveredOptions =
    [
        nameof(ChatOptions.Instructions), nameof(ChatOptions.Temperature), nameof(ChatOptions.MaxOutputTokens), nameof(ChatOptions.TopP),
        nameof(ChatOptions.TopK), nameof(ChatOptions.FrequencyPenalty), nameof(ChatOptions.PresencePenalty), nameof(ChatOptions.Seed),
        nameof(ChatOptions.Reasoning), nameof(ChatOptions.ResponseFormat), nameof(ChatOptions.ModelId), nameof(ChatOptions.StopSequences),
        nameof(ChatOptions.AllowMultipleToolCalls), nameof(ChatOptions.ToolMode), nameof(ChatOptions.Tools), nameof(ChatOptions.AdditionalProperties),
    ];

    /// <summary>The properties that make a request uncacheable when set.</summary>
    internal static readonly string[] UncacheableOptions =
    [
        nameof(ChatOptions.ConversationId), nameof(ChatOptions.ContinuationToken), nameof(ChatOptions.AllowBackgroundResponses),
        nameof(ChatOptions.RawRepresentationFactory),
    ];

    private const ulong CheckSeed = 0x9E3779B97F4A7C15;

    /// <summary>Computes the key; <see langword="false"/> with the reason when the request must not be cached.</summary>
    public static bool TryCreate(IList<ChatMessage> messages, ChatOptions? options, RoutingHints? hints, out CacheKey key, out string? uncacheable)
    {
        key = default;
        uncacheable = Uncacheable(options);
        if (uncacheable is not null)
        {
            return false;
        }

        CanonicalWriter writer = CanonicalWriter.Rent();
        try
        {
            writer.Int(SchemaVersion);
            writer.Int(messages.Count);
            foreach (ChatMessage message in messages)
            {
                WriteMessage(writer, message);
            }

            WriteOptions(writer, options);
            WriteConstraints(writer, hints);
            ReadOnlySpan<byte> written = writer.Written;
            key = new CacheKey(
                XxHash128.HashToUInt128(written),
                XxHash3.HashToUInt64(written, unchecked((long)CheckSeed)),
                written.Length,
                hints?.Tenant ?? string.Empty,
                hints?.Group ?? string.Empty);
            return true;
        }
        catch (Exception exception) when (exception is NotSupportedException or JsonException or InvalidOperationException or ArgumentException)
        {
            uncacheable = $"a value in the request cannot be written canonically ({exception.GetType().Name})";
            return false;
        }
        finally
        {
            CanonicalWriter.Return(writer);
        }
    }

    private static string? Uncacheable(ChatOptions? options) => options switch
    {
        null => null,
        { ConversationId: not null } => "it continues a conversation held by the provider (ConversationId)",
        { ContinuationToken: not null } => "it continues a background response (ContinuationToken)",
        { AllowBackgroundResponses: true } => "it allows a background response (AllowBackgroundResponses)",
        { RawRepresentationFactory: not null } => "its RawRepresentationFactory cannot be compared",
        _ => null,
    };

    private static void WriteMessage(CanonicalWriter writer, ChatMessage message)
    {
        writer.Tag((byte)'M');
        writer.String(message.Role.Value);
        writer.String(message.AuthorName);
        writer.Int(message.Contents.Count);
        IList<AIContent> parts = message.Contents;
        for (int k = 0; k < parts.Count; k++)
        {
            AIContent content = parts[k];
            WriteContent(writer, content);
        }

        WriteProperties(writer, message.AdditionalProperties, skip: null);
    }

    private static void WriteContent(CanonicalWriter writer, AIContent content)
    {
        switch (content)
        {
            case TextContent text:
                writer.Tag((byte)'t');
                writer.String(text.Text);
                break;
            case TextReasoningContent reasoning:
                writer.Tag((byte)'r');
                writer.String(reasoning.Text);
                writer.String(reasoning.ProtectedData);
                break;
            case DataContent data:
                writer.Tag((byte)'d');
                writer.String(data.MediaType);
                writer.String(data.Name);
                writer.Bytes(data.Data.Span);
                break;
            case UriContent uri:
                writer.Tag((byte)'u');
                writer.String(uri.Uri.OriginalString);
                writer.String(uri.MediaType);
                break;
            case FunctionCallContent call:
                writer.Tag((byte)'c');
                writer.String(call.CallId);
                writer.String(call.Name);
                WriteArguments(writer, call.Arguments);
                break;
            case FunctionResultContent result:
                writer.Tag((byte)'f');
                writer.String(result.CallId);
                WriteValue(writer, result.Result);
                break;
            default:
                // Any other content (hosted files, tool approvals, ...) in its JSON form, type discriminator included.
                writer.Tag((byte)'j');
                writer.Json(JsonSerializer.SerializeToElement(content, AIJsonUtilities.DefaultOptions.GetTypeInfo(typeof(AIContent))));
                return; // the JSON form includes the additional properties
        }

        WriteProperties(writer, content.AdditionalProperties, skip: null);
    }

    private static readonly ChatOptions NoOptions = new();

    private static void WriteOptions(CanonicalWriter writer, ChatOptions? options)
    {
        // No options and empty options (perhaps carrying only the router's hints) ask for the same answer.
        options ??= NoOptions;
        writer.Tag((byte)'O');

        writer.String(options.ModelId);
        writer.String(options.Instructions);
        writer.Double(options.Temperature);
        writer.Int(options.MaxOutputTokens);
        writer.Double(options.TopP);
        writer.Int(options.TopK);
        writer.Double(options.FrequencyPenalty);
        writer.Double(options.PresencePenalty);
        writer.Int(options.Seed);
        writer.Bool(options.AllowMultipleToolCalls is not null);
        writer.Bool(options.AllowMultipleToolCalls ?? false);

        writer.Bool(options.Reasoning is not null);
        if (options.Reasoning is { } reasoning)
        {
            writer.Int(reasoning.Effort is { } effort ? (long)effort : null);
            writer.Int(reasoning.Output is { } output ? (long)output : null);
        }

        switch (options.ResponseFormat)
        {
            case null:
                writer.Tag(0);
                break;
            case ChatResponseFormatText:
                writer.Tag(1);
                break;
            case ChatResponseFormatJson json:
                writer.Tag(2);
                writer.String(json.SchemaName);
                writer.String(json.SchemaDescription);
                writer.Bool(json.Schema is not null);
                if (json.Schema is { } schema)
                {
                    writer.Json(schema);
                }

                break;
            default:
                throw new NotSupportedException($"Unknown response format {options.ResponseFormat.GetType().Name}.");
        }

        IList<string>? stops = options.StopSequences;
        writer.Int(stops?.Count ?? -1);
        if (stops is not null)
        {
            foreach (string stop in stops)
            {
                writer.String(stop);
            }
        }

        switch (options.ToolMode)
        {
            case null:
                writer.Tag(0);
                break;
            case AutoChatToolMode:
                writer.Tag(1);
                break;
            case NoneChatToolMode:
                writer.Tag(2);
                break;
            case RequiredChatToolMode required:
                writer.Tag(3);
                writer.String(required.RequiredFunctionName);
                break;
            default:
                throw new NotSupportedException($"Unknown tool mode {options.ToolMode.GetType().Name}.");
        }

        IList<AITool>? tools = options.Tools;
        writer.Int(tools?.Count ?? -1);
        if (tools is not null)
        {
            foreach (AITool tool in tools)
            {
                writer.String(tool.GetType().FullName);
                writer.String(tool.Name);
                writer.String(tool.Description);
                if (tool is AIFunctionDeclaration function)
                {
                    writer.Json(function.JsonSchema);
                    writer.Bool(function.ReturnJsonSchema is not null);
                    if (function.ReturnJsonSchema is { } returns)
                    {
                        writer.Json(returns);
                    }
                }

                WriteReadOnlyProperties(writer, tool.AdditionalProperties);
            }
        }

        WriteProperties(writer, options.AdditionalProperties, skip: ChatOptionsRoutingExtensions.PropertyKey);
    }

    /// <summary>
    /// The request's constraints on where its answer may come from (regions, endpoints, data policy, prices): a request
    /// restricted to "eu" never receives an answer cached for one that was not.
    /// </summary>
    private static void WriteConstraints(CanonicalWriter writer, RoutingHints? hints)
    {
        writer.Tag((byte)'C');
        WriteSet(writer, hints?.AllowedRegions);
        WriteSet(writer, hints?.OnlyEndpoints);
        WriteSet(writer, hints?.IgnoreEndpoints);
        writer.Bool(hints?.RequireZeroDataRetention ?? false);
        writer.Bool(hints?.RequireNoTraining ?? false);
        writer.Double((double?)hints?.MaxInputCostPerMillionTokens);
        writer.Double((double?)hints?.MaxOutputCostPerMillionTokens);
        writer.Double((double?)hints?.MaxRequestCost);
    }

    private static void WriteSet(CanonicalWriter writer, IList<string>? values)
    {
        writer.Int(values?.Count ?? -1);
        if (values is null || values.Count == 0)
        {
            return;
        }

        string[] sorted = [.. values.Select(static v => v.ToUpperInvariant())];
        Array.Sort(sorted, StringComparer.Ordinal);
        foreach (string value in sorted)
        {
            writer.String(value);
        }
    }

    private static void WriteArguments(CanonicalWriter writer, IDictionary<string, object?>? arguments)
    {
        writer.Int(arguments?.Count ?? -1);
        if (arguments is null)
        {
            return;
        }

        string[] names = [.. arguments.Keys];
        Array.Sort(names, StringComparer.Ordinal);
        foreach (string name in names)
        {
            writer.String(name);
            WriteValue(writer, arguments[name]);
        }
    }

    private static void WriteProperties(CanonicalWriter writer, AdditionalPropertiesDictionary? properties, string? skip)
    {
        int count = properties?.Count ?? 0;
        if (count == 0 || (count == 1 && skip is not null && properties!.ContainsKey(skip)))
        {
            writer.Int(0); // none, or only the router's own hints: the same as none
            return;
        }

        string[] names = [.. properties!.Keys];
        Array.Sort(names, StringComparer.Ordinal);
        writer.Int(names.Length - (skip is not null && properties.ContainsKey(skip) ? 1 : 0));
        foreach (string name in names)
        {
            if (string.Equals(name, skip, StringComparison.Ordinal))
            {
                continue;
            }

            writer.String(name);
            WriteValue(writer, properties[name]);
        }
    }

    private static void WriteReadOnlyProperties(CanonicalWriter writer, IReadOnlyDictionary<string, object?> properties)
    {
        writer.Int(properties.Count);
        if (properties.Count == 0)
        {
            return;
        }

        string[] names = [.. properties.Keys];
        Array.Sort(names, StringComparer.Ordinal);
        foreach (string name in names)
        {
            writer.String(name);
            WriteValue(writer, properties[name]);
        }
    }

    private static void WriteValue(CanonicalWriter writer, object? value)
    {
        switch (value)
        {
            case null:
                writer.Tag((byte)'n');
                break;
            case string text:
                writer.Tag((byte)'s');
                writer.String(text);
                break;
            case JsonElement element:
                writer.Tag((byte)'e');
                writer.Json(element);
                break;
            default:
                writer.Tag((byte)'v');
                writer.String(value.GetType().FullName);
                writer.Json(JsonSerializer.SerializeToElement(value, AIJsonUtilities.DefaultOptions.GetTypeInfo(value.GetType())));
                break;
        }
    }
}
