using System.ClientModel.Primitives;

namespace LlmRouter.Tests.TestSupport;

/// <summary>A System.ClientModel response with a status, headers and a buffered body, as the OpenAI SDK puts in ClientResultException.</summary>
public sealed class FakePipelineResponse : PipelineResponse
{
    private readonly FakeHeaders _headers;
    private BinaryData _content;

    public FakePipelineResponse(int status, string body, params (string Name, string Value)[] headers)
    {
        Status = status;
        _content = BinaryData.FromString(body);
        _headers = new FakeHeaders(headers);
    }

    public override int Status { get; }

    public override string ReasonPhrase => "fake";

    public override Stream? ContentStream { get; set; }

    public override BinaryData Content => _content;

    protected override PipelineResponseHeaders HeadersCore => _headers;

    public override BinaryData BufferContent(CancellationToken cancellationToken = default) => _content;

    public override ValueTask<BinaryData> BufferContentAsync(CancellationToken cancellationToken = default) => ValueTask.FromResult(_content);

    public override void Dispose()
    {
    }

    private sealed class FakeHeaders((string Name, string Value)[] headers) : PipelineResponseHeaders
    {
        public override IEnumerator<KeyValuePair<string, string>> GetEnumerator() =>
            headers.Select(h => new KeyValuePair<string, string>(h.Name, h.Value)).GetEnumerator();

        public override bool TryGetValue(string name, out string? value)
        {
            foreach ((string n, string v) in headers)
            {
                if (string.Equals(n, name, StringComparison.OrdinalIgnoreCase))
                {
                    value = v;
                    return true;
                }
            }

            value = null;
            return false;
        }

        public override bool TryGetValues(string name, out IEnumerable<string>? values)
        {
            bool found = TryGetValue(name, out string? value);
            values = found ? [value!] : null;
            return found;
        }
    }
}
