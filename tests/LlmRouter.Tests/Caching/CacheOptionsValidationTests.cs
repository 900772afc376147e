using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LlmRouter.Tests.Caching;

/// <summary>Invalid cache settings fail at start-up with an <see cref="OptionsValidationException"/> naming the field.</summary>
public sealed class CacheOptionsValidationTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static HostApplicationBuilder NewHostBuilder()
    {
        HostApplicationBuilder builder = Host.CreateApplicationBuilder();
        _ = builder.Logging.ClearProviders();
        return builder;
    }

    public static TheoryData<string, string> InvalidSettings => new()
    {
        { "TimeToLive 0", "Cache:TimeToLive" },
        { "TimeToLive negative", "Cache:TimeToLive" },
        { "TimeToLive over 30 days", "Cache:TimeToLive" },
        { "SizeLimitBytes 10", "Cache:SizeLimitBytes" },
        { "SizeLimitBytes over 64 GiB", "Cache:SizeLimitBytes" },
        { "DistributedTimeout 0", "Cache:DistributedTimeout" },
        { "DistributedTimeout over a minute", "Cache:DistributedTimeout" },
        { "DistributedRetryInterval negative", "Cache:DistributedRetryInterval" },
        { "KeyPrefix empty", "Cache:KeyPrefix" },
        { "KeyPrefix blank", "Cache:KeyPrefix" },
        { "UseDistributedCache without IDistributedCache", "Cache:UseDistributedCache" },
    };

    private static void Apply(string setting, CacheOptions cache)
    {
        cache.Enabled = true;
        switch (setting)
        {
            case "TimeToLive 0": cache.TimeToLive = TimeSpan.Zero; break;
            case "TimeToLive negative": cache.TimeToLive = TimeSpan.FromSeconds(-1); break;
            case "TimeToLive over 30 days": cache.TimeToLive = TimeSpan.FromDays(31); break;
            case "SizeLimitBytes 10": cache.SizeLimitBytes = 10; break;
            case "SizeLimitBytes over 64 GiB": cache.SizeLimitBytes = (64L * 1024 * 1024 * 1024) + 1; break;
            case "DistributedTimeout 0": cache.DistributedTimeout = TimeSpan.Zero; break;
            case "DistributedTimeout over a minute": cache.DistributedTimeout = TimeSpan.FromMinutes(2); break;
            case "DistributedRetryInterval negative": cache.DistributedRetryInterval = TimeSpan.FromSeconds(-1); break;
            case "KeyPrefix empty": cache.KeyPrefix = string.Empty; break;
            case "KeyPrefix blank": cache.KeyPrefix = "  "; break;
            case "UseDistributedCache without IDistributedCache": cache.UseDistributedCache = true; break;
            default: throw new ArgumentOutOfRangeException(nameof(setting), setting, null);
        }
    }

    [Theory]
    [MemberData(nameof(InvalidSettings))]
    public async Task HostStart_InvalidCacheSetting_ThrowsOptionsValidationExceptionNamingTheField(string setting, string field)
    {
        var factoryCalls = 0;
        HostApplicationBuilder builder = NewHostBuilder();
        _ = builder.Services.AddLlmRouter(r => r
            .AddEndpoint("a", _ =>
            {
                factoryCalls++;
                return new ScriptedChatClient("a");
            })
            .Configure(o => Apply(setting, o.Cache)));
        using IHost host = builder.Build();

        OptionsValidationException exception = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(Ct));

        Assert.Equal(typeof(LlmRouterOptions), exception.OptionsType);
        string failure = Assert.Single(exception.Failures);
        Assert.StartsWith(field, failure, StringComparison.Ordinal);
        Assert.Equal(0, factoryCalls);
    }

    [Fact]
    public void ResolvingTheRouter_WithAnInvalidCacheSetting_Throws()
    {
        var services = new ServiceCollection();
        _ = services.AddLlmRouter(r => r.AddEndpoint("a", new ScriptedChatClient("a")).Configure(o => o.Cache.SizeLimitBytes = 10));
        using ServiceProvider provider = services.BuildServiceProvider();

        OptionsValidationException exception = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IChatClient>());

        Assert.Contains("Cache:SizeLimitBytes", Assert.Single(exception.Failures), StringComparison.Ordinal);
    }

    [Fact]
    public async Task HostStart_FromConfiguration_InvalidCacheSection_NamesEveryField()
    {
        const string json = """
            {
              "LlmRouter": {
                "Cache": { "Enabled": true, "TimeToLive": "00:00:00", "SizeLimitBytes": 10, "DistributedTimeout": "00:00:00", "KeyPrefix": "", "UseDistributedCache": true },
                "Endpoints": { "a": { "Weight": 1 } }
              }
            }
            """;
        HostApplicationBuilder builder = NewHostBuilder();
        _ = builder.Configuration.AddJsonStream(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(json)));
        _ = builder.Services.AddKeyedChatClient("a", new ScriptedChatClient("a"));
        _ = builder.Services.AddLlmRouter(builder.Configuration.GetSection("LlmRouter"));
        using IHost host = builder.Build();

        OptionsValidationException exception = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(Ct));

        string[] expected = ["Cache:TimeToLive", "Cache:SizeLimitBytes", "Cache:DistributedTimeout", "Cache:KeyPrefix", "Cache:UseDistributedCache"];
        Assert.Equal(expected.Length, exception.Failures.Count());
        Assert.All(expected, field => Assert.Contains(exception.Failures, f => f.StartsWith(field, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task HostStart_UseDistributedCacheWithARegisteredCache_StartsAndUsesIt()
    {
        var distributed = new FakeDistributedCache(hangReads: false, hangWrites: false);
        var a = new CountingChatClient("a");
        HostApplicationBuilder builder = NewHostBuilder();
        _ = builder.Services.AddSingleton<IDistributedCache>(distributed);
        _ = builder.Services.AddLlmRouter(r => r.AddEndpoint("a", a).Configure(o =>
        {
            o.Cache.Enabled = true;
            o.Cache.UseDistributedCache = true;
            o.Cache.KeyPrefix = "myapp:";
            o.Cache.DistributedTimeout = TimeSpan.FromSeconds(5);
        }));
        using IHost host = builder.Build();

        await host.StartAsync(Ct);
        ChatResponse response = await host.Services.GetRequiredService<IChatClient>().GetResponseAsync(RouterFactory.Hello(), null, Ct);
        Assert.True(await CacheRouter.EventuallyAsync(() => distributed.Writes == 1, TimeSpan.FromSeconds(10)));
        await host.StopAsync(Ct);

        Assert.Equal("a answer #1", response.Text);
        Assert.Equal(1, distributed.Reads);
        string key = Assert.Single(distributed.Values.Keys);
        Assert.StartsWith("myapp:v1:", key, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HostStart_DistributedCacheRegisteredButNotEnabled_IsNotUsed()
    {
        var distributed = new FakeDistributedCache(hangReads: false, hangWrites: false);
        var a = new CountingChatClient("a");
        HostApplicationBuilder builder = NewHostBuilder();
        _ = builder.Services.AddSingleton<IDistributedCache>(distributed);
        _ = builder.Services.AddLlmRouter(r => r.AddEndpoint("a", a).Configure(o => o.Cache.Enabled = true));
        using IHost host = builder.Build();

        await host.StartAsync(Ct);
        IChatClient client = host.Services.GetRequiredService<IChatClient>();
        _ = await client.GetResponseAsync(RouterFactory.Hello(), null, Ct);
        ChatResponse hit = await client.GetResponseAsync(RouterFactory.Hello(), null, Ct);
        await host.StopAsync(Ct);

        Assert.Equal(CacheResult.Hit, hit.GetRoutingInfo()!.Cache);
        Assert.Equal(0, distributed.Reads);
        Assert.Equal(0, distributed.Writes);
    }
}
