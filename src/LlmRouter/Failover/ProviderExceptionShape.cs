using System.Collections.Concurrent;
using System.Net;
using System.Reflection;
using System.Text.Json;

namespace LlmRouter;

/// <summary>
/// Reads what an SDK's exception says about a failure (its HTTP status, the provider's error type, the response body)
/// by the exception's shape, so that the library needs no reference to SDKs it only has to recognise.
/// </summary>
/// <remarks>
/// Checked against Anthropic 13.x (<c>Anthropic.Exceptions.AnthropicApiException</c>: <c>StatusCode</c>,
/// <c>ResponseBody</c>; <c>AnthropicServiceException</c> and the in-stream <c>AnthropicSseException</c>: <c>Body</c>, the
/// provider's error JSON) and OllamaSharp 5.x (<c>OllamaSharp.Models.Exceptions.OllamaException</c>: the provider's error
/// text as its message, thrown for HTTP 400). Property look-ups are cached per exception type.
/// </remarks>
internal static class ProviderExceptionShape
{
    private static readonly ConcurrentDictionary<Type, Accessors> Cache = new();

    /// <summary>The HTTP status an exception carries in a public <c>StatusCode</c> property, if it has one.</summary>
    public static int? StatusCode(Exception exception)
    {
        object? value = Get(exception).StatusCode?.GetValue(exception);
        return value switch
        {
            HttpStatusCode status => (int)status,
            int status => status,
            _ => null,
        };
    }

    /// <summary>The response body an exception carries (<c>ResponseBody</c> as text, or <c>Body</c> as JSON), if it has one.</summary>
    public static string? Body(Exception exception)
    {
        Accessors accessors = Get(exception);
        if (accessors.ResponseBody?.GetValue(exception) is string text)
        {
            return text;
        }

        return accessors.Body?.GetValue(exception) is JsonElement { ValueKind: JsonValueKind.Object } json ? json.GetRawText() : null;
    }

    /// <summary>The provider's error type (<c>{"error":{"type":"overloaded_error"}}</c>) in the JSON body an exception carries, if any.</summary>
    public static string? ErrorType(Exception exception)
    {
        if (Get(exception).Body?.GetValue(exception) is JsonElement { ValueKind: JsonValueKind.Object } json &&
            json.TryGetProperty("error", out JsonElement error) && error.ValueKind == JsonValueKind.Object &&
            error.TryGetProperty("type", out JsonElement type) && type.ValueKind == JsonValueKind.String)
        {
            return type.GetString();
        }

        return null;
    }

    /// <summary>Whether the exception's type, or a base type, has the given full name.</summary>
    public static bool Is(Exception exception, string fullName)
    {
        for (Type? type = exception.GetType(); type is not null && type != typeof(Exception); type = type.BaseType)
        {
            if (string.Equals(type.FullName, fullName, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private static Accessors Get(Exception exception) => Cache.GetOrAdd(exception.GetType(), static type => new Accessors(
        Property(type, "StatusCode", typeof(HttpStatusCode), typeof(int)),
        Property(type, "ResponseBody", typeof(string)),
        Property(type, "Body", typeof(JsonElement))));

    private static PropertyInfo? Property(
        [System.Diagnostics.CodeAnalysis.DynamicallyAccessedMembers(System.Diagnostics.CodeAnalysis.DynamicallyAccessedMemberTypes.PublicProperties)] Type type,
        string name,
        params Type[] types)
    {
        PropertyInfo? property;
        try
        {
            property = type.GetProperty(name, BindingFlags.Public | BindingFlags.Instance);
        }
        catch (AmbiguousMatchException)
        {
            return null; // hidden by a derived type's own property of that name: not a shape we know
        }

        return property is not null && property.GetIndexParameters().Length == 0 && Array.IndexOf(types, property.PropertyType) >= 0 ? property : null;
    }

    private sealed record Accessors(PropertyInfo? StatusCode, PropertyInfo? ResponseBody, PropertyInfo? Body);
}
