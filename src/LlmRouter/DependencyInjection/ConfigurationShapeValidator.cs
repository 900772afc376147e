using System.ComponentModel;
using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace LlmRouter;

/// <summary>
/// Checks the configuration section the router's options are bound from against the options' shape: every key names a
/// setting, a single value stands where a value is expected, a section where a section is, an array where a list is,
/// and no value-typed setting is <c>null</c>; each message names the field, and the endpoint or tenant where there is one.
/// </summary>
/// <remarks>
/// The configuration binder silently skips what does not fit: a misspelled key, an object or array given for a number,
/// a single value given for a section or a list (<c>"AllowedRegions": "eu"</c> would leave the tenant free to use any
/// region), an entry of <c>Endpoints</c> or <c>Tenants</c> that is not a section (dropped), a value it cannot convert
/// inside an endpoint's or a tenant's settings (<c>"OutputCostPerMillionTokens": "abc"</c> keeps 0), and it binds <c>null</c>
/// as the type's zero (<c>"RequiresFinishReason": null</c> would turn the check off). Each of those is a setting that
/// does not do what its author meant, so it fails at start-up like an out-of-range value.
/// </remarks>
internal sealed class ConfigurationShapeValidator : IValidateOptions<LlmRouterOptions>
{
    private static readonly NullabilityInfoContext Nullability = new();

    private readonly IConfiguration _configuration;

    public ConfigurationShapeValidator(IConfiguration configuration) => _configuration = configuration;

    public ValidateOptionsResult Validate(string? name, LlmRouterOptions options)
    {
        if (name is not null && name != Options.DefaultName)
        {
            return ValidateOptionsResult.Skip;
        }

        var errors = new List<string>();
        if (_configuration is IConfigurationSection { Value: { } value } && !HasChildren(_configuration))
        {
            errors.Add($"The LlmRouter section holds the single value '{value}' where a section of settings is expected.");
        }

        CheckObject(_configuration, typeof(LlmRouterOptions), string.Empty, errors);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void CheckObject(IConfiguration section, Type type, string prefix, List<string> errors)
    {
        foreach (IConfigurationSection child in section.GetChildren())
        {
            PropertyInfo? property = type.GetProperty(child.Key, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
            string field = prefix + child.Key;
            if (property is null || property.GetIndexParameters().Length > 0)
            {
                errors.Add($"{Describe(field)} is not a setting of {type.Name}; check its spelling (known: {string.Join(", ", KnownSettings(type))}).");
                continue;
            }

            CheckValue(child, property.PropertyType, Nullability.Create(property).WriteState != NullabilityState.NotNull, field, errors);
        }
    }

    private static void CheckValue(IConfigurationSection section, Type type, bool nullable, string field, List<string> errors)
    {
        Type? underlying = Nullable.GetUnderlyingType(type);
        Type target = underlying ?? type;
        bool children = HasChildren(section);
        if (IsScalar(target))
        {
            if (children)
            {
                errors.Add($"{Describe(field)} must be a single value, not an object or an array.");
            }
            else if (section.Value is null && underlying is null && (target.IsValueType || !nullable))
            {
                errors.Add($"{Describe(field)} is null; give it a value, or remove it to keep the default.");
            }
            else if (section.Value is { } text && !Converts(text, target, emptyMeansUnset: underlying is not null))
            {
                // The binder throws for such a value, except inside a dictionary (an endpoint's or a tenant's settings) or
                // a list, where it silently keeps the default.
                errors.Add($"{Describe(field)} has the value '{text}', which is not a valid {target.Name}.");
            }

            return;
        }

        if (typeof(Delegate).IsAssignableFrom(target))
        {
            errors.Add($"{Describe(field)} cannot be set from configuration; set it in code.");
            return;
        }

        if (DictionaryValueType(target) is { } entryType)
        {
            if (RejectsValue(section, children, field, "a section of named entries", errors))
            {
                return;
            }

            foreach (IConfigurationSection entry in section.GetChildren())
            {
                string entryField = $"{field}:{entry.Key}";
                if (IsScalar(entryType))
                {
                    CheckValue(entry, entryType, nullable: false, entryField, errors);
                }
                else if (RejectsValue(entry, HasChildren(entry), entryField, "a section of settings", errors) is false)
                {
                    CheckObject(entry, entryType, entryField + ":", errors);
                }
            }

            return;
        }

        if (ListElementType(target) is { } elementType)
        {
            // An empty JSON array binds as an empty value: an empty list.
            if (!children && !string.IsNullOrEmpty(section.Value))
            {
                errors.Add($"{Describe(field)} must be an array, not the single value '{section.Value}'.");
                return;
            }

            foreach (IConfigurationSection item in section.GetChildren())
            {
                if (!int.TryParse(item.Key, NumberStyles.None, CultureInfo.InvariantCulture, out _))
                {
                    errors.Add($"{Describe(field)} must be an array, not an object (it has the key '{item.Key}').");
                    return;
                }

                CheckValue(item, elementType, nullable: true, $"{field}:{item.Key}", errors);
            }

            return;
        }

        if (!RejectsValue(section, children, field, "a section of settings", errors))
        {
            CheckObject(section, target, field + ":", errors);
        }
    }

    /// <summary>A section given as a single value (not <c>null</c>, not an empty object) where a section is expected.</summary>
    private static bool RejectsValue(IConfigurationSection section, bool children, string field, string expected, List<string> errors)
    {
        if (children || section.Value is null)
        {
            return false;
        }

        errors.Add($"{Describe(field)} must be {expected}, not the single value '{section.Value}'.");
        return true;
    }

    /// <summary>Names a field as the validators do: <c>Endpoint 'openai': Weight</c>, <c>Constraints:Tenants 'acme': Sort</c>, or its path.</summary>
    private static string Describe(string field)
    {
        string[] parts = field.Split(':');
        if (parts.Length >= 3 && parts[0].Equals("Endpoints", StringComparison.OrdinalIgnoreCase))
        {
            return $"Endpoint '{parts[1]}': {string.Join(':', parts, 2, parts.Length - 2)}";
        }

        if (parts.Length >= 4 && parts[0].Equals("Constraints", StringComparison.OrdinalIgnoreCase) && parts[1].Equals("Tenants", StringComparison.OrdinalIgnoreCase))
        {
            return $"Constraints:Tenants '{parts[2]}': {string.Join(':', parts, 3, parts.Length - 3)}";
        }

        return field;
    }

    private static IEnumerable<string> KnownSettings(Type type)
    {
        foreach (PropertyInfo property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetIndexParameters().Length == 0 && !typeof(Delegate).IsAssignableFrom(property.PropertyType))
            {
                yield return property.Name;
            }
        }
    }

    /// <summary>Whether the binder can read the text as the type, as it does: with the type's converter, invariant culture.</summary>
    private static bool Converts(string text, Type type, bool emptyMeansUnset)
    {
        if (type == typeof(string))
        {
            return true;
        }

        if (text.Length == 0)
        {
            return emptyMeansUnset;
        }

        try
        {
            return TypeDescriptor.GetConverter(type).ConvertFromInvariantString(text) is not null;
        }
#pragma warning disable CA1031 // Converters throw whatever their parser throws; any failure means the value is unusable.
        catch (Exception)
#pragma warning restore CA1031
        {
            return false;
        }
    }

    private static bool HasChildren(IConfiguration section)
    {
        using IEnumerator<IConfigurationSection> children = section.GetChildren().GetEnumerator();
        return children.MoveNext();
    }

    private static bool IsScalar(Type type) =>
        type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(TimeSpan) ||
        type == typeof(DateTimeOffset) || type == typeof(DateTime) || type == typeof(Uri) || type == typeof(Guid);

    private static Type? DictionaryValueType(Type type) => GenericArgument(type, typeof(IDictionary<,>), 1);

    private static Type? ListElementType(Type type) => type == typeof(string) ? null : GenericArgument(type, typeof(IList<>), 0);

    private static Type? GenericArgument(Type type, Type definition, int index)
    {
        if (type.IsGenericType && type.GetGenericTypeDefinition() == definition)
        {
            return type.GetGenericArguments()[index];
        }

        foreach (Type implemented in type.GetInterfaces())
        {
            if (implemented.IsGenericType && implemented.GetGenericTypeDefinition() == definition)
            {
                return implemented.GetGenericArguments()[index];
            }
        }

        return null;
    }
}
