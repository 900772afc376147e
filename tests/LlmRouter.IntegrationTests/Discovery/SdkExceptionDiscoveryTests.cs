using LlmRouter.IntegrationTests.TestSupport;
using Microsoft.Extensions.AI;

namespace LlmRouter.IntegrationTests.Discovery;

public sealed class SdkExceptionDiscoveryTests
{
    [Fact]
    public async Task Discover()
    {
        await using var openAi = await OpenAiProtocolServer.StartAsync();
        await using var anthropic = await AnthropicProtocolServer.StartAsync();
        await using var ollama = await OllamaProtocolServer.StartAsync();
        var lines = new List<string>();
        foreach (Sdk sdk in Enum.GetValues<Sdk>())
        {
            LoopbackProviderServer server = sdk switch { Sdk.OpenAi => openAi, Sdk.Anthropic => anthropic, _ => ollama };
            foreach (Fault fault in Enum.GetValues<Fault>())
            {
                foreach (bool streaming in new[] { false, true })
                {
                    if (FaultCatalog.For(sdk, fault, streaming) is not { } reply)
                    {
                        continue;
                    }

                    server.Reset();
                    server.Enqueue(reply);
                    IChatClient client = SdkClients.For(sdk, server);
                    using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(1.5));
                    string outcome;
                    try
                    {
                        if (streaming)
                        {
                            var text = "";
                            ChatFinishReason? finish = null;
                            await foreach (var u in client.GetStreamingResponseAsync("hi", cancellationToken: cts.Token))
                            {
                                text += u.Text;
                                finish ??= u.FinishReason;
                                foreach (var c in u.Contents) if (c is ErrorContent e) text += $"[ErrorContent {e.ErrorCode}|{e.Message}|{e.Details}]";
                            }
                            outcome = $"OK text='{text}' finish={finish}";
                        }
                        else
                        {
                            var r = await client.GetResponseAsync("hi", cancellationToken: cts.Token);
                            outcome = $"OK text='{r.Text}' finish={r.FinishReason}";
                        }
                    }
                    catch (Exception e)
                    {
                        outcome = Describe(e);
                    }

                    lines.Add($"{sdk}\t{fault}\t{(streaming ? "stream" : "json")}\thits={server.RequestCount}\t{outcome}");
                }
            }
        }

        File.WriteAllLines("/tmp/discovery.tsv", lines);
    }

    private static string Describe(Exception e)
    {
        string s = e.GetType().FullName!;
        foreach (var p in new[] { "Status", "StatusCode", "ErrorType", "ErrorCode", "HttpRequestError" })
        {
            var prop = e.GetType().GetProperty(p);
            if (prop is not null) s += $" {p}={prop.GetValue(e)}";
        }
        s += " msg=" + e.Message.Replace('\n', ' ')[..Math.Min(160, e.Message.Length)];
        if (e.InnerException is { } inner) s += " <= " + Describe(inner);
        return s;
    }
}
