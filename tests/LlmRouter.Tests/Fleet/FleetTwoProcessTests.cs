using System.Diagnostics;
using LlmRouter.Tests.TestSupport;

namespace LlmRouter.Tests.Fleet;

/// <summary>Two processes share health through Redis: an endpoint that dies in a child process is avoided by this one.</summary>
public sealed class FleetTwoProcessTests(RedisServer redis) : IClassFixture<RedisServer>
{
    [Fact]
    public async Task EndpointOpenedInAnotherProcess_IsAvoidedHere()
    {
        redis.Require();

        // This process's clock reads the real date: the child's deadlines are on the wall clock.
        using var fleet = new FleetCluster(1, redis.ConnectionString, start: DateTimeOffset.UtcNow);
        await fleet.AllConnectedAsync();
        using var child = new FleetNodeProcess(redis.ConnectionString, fleet.Prefix);
        await FleetCluster.Eventually(() => child.Ask("state").EndsWith("|Connected", StringComparison.Ordinal), "the child is in step");

        for (int i = 0; i < 3; i++)
        {
            Assert.Equal("backup", child.Ask("send")); // the child's primary fails; the third failure opens it for the fleet
        }

        Assert.StartsWith("Open|", child.Ask("state"), StringComparison.Ordinal);
        await FleetCluster.Eventually(() => fleet.PrimaryState(0) == HealthState.Open, "this process hears of it");
        Assert.Equal("backup", await fleet.SendAsync(0));
        Assert.Equal(0, fleet.Primary.Calls);
    }

    /// <summary>The LlmRouter.FleetNode helper, run with <c>dotnet</c> and driven one line at a time.</summary>
    private sealed class FleetNodeProcess : IDisposable
    {
        private readonly Process _process;

        public FleetNodeProcess(string connectionString, string prefix)
        {
            string output = AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar);
            string configuration = Path.GetFileName(Path.GetDirectoryName(output)!);
            string dll = Path.GetFullPath(Path.Combine(output, "..", "..", "..", "..", "LlmRouter.FleetNode", "bin", configuration, "net10.0", "LlmRouter.FleetNode.dll"));
            Assert.True(File.Exists(dll), $"{dll} is missing: build tests/LlmRouter.FleetNode");
            var start = new ProcessStartInfo("dotnet")
            {
                ArgumentList = { dll, connectionString, prefix },
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                UseShellExecute = false,
            };
            _process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
            Assert.Equal("ready", ReadLine());
        }

        public string Ask(string command)
        {
            _process.StandardInput.WriteLine(command);
            _process.StandardInput.Flush();
            return ReadLine();
        }

        private string ReadLine()
        {
            Task<string?> line = _process.StandardOutput.ReadLineAsync();
            Assert.True(line.Wait(TimeSpan.FromSeconds(30)), "the child process did not answer within 30 s");
            return line.Result ?? throw new InvalidOperationException("the child process ended");
        }

        public void Dispose()
        {
            try
            {
                _process.StandardInput.WriteLine("quit");
                if (!_process.WaitForExit(5000))
                {
                    _process.Kill(entireProcessTree: true);
                }
            }
            finally
            {
                _process.Dispose();
            }
        }
    }
}
