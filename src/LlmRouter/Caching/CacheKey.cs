using System.Globalization;

namespace LlmRouter;

/// <summary>
/// The cache key of a request: a 128-bit hash of its canonical form, a second, independent 64-bit hash and the form's
/// length to guard against collisions, and the partition (tenant and group) in clear, so that two partitions can never
/// share an entry whatever the hashes.
/// </summary>
internal readonly record struct CacheKey(UInt128 Hash, ulong Check, int Length, string Tenant, string Group)
{
    /// <summary>The key in a distributed cache: prefix, schema version, partition (length-prefixed, so that no tenant name can forge another's), hash.</summary>
    public string ToDistributedKey(string prefix) => string.Create(
        CultureInfo.InvariantCulture,
        $"{prefix}v{CacheKeyBuilder.SchemaVersion}:t{Tenant.Length}:{Tenant}:g{Group.Length}:{Group}:{Hash:x32}");
}
