using Dune.Oci.Spec;
using Dune.Oci.Validation;
using Xunit;

namespace Dune.Oci.Tests.Core;

public class SpecLoaderTests
{
    private static RuntimeSpec Parse(string json) =>
        SpecLoader.Parse(System.Text.Encoding.UTF8.GetBytes(json), "config.json", SpecJsonContext.Default.RuntimeSpec);

    [Fact]
    public void MalformedJsonNamesTheFileAndPosition()
    {
        var e = Assert.Throws<RuntimeError>(() => Parse("{\"ociVersion\": \"1.0.0\",\n \"process\": {"));
        Assert.StartsWith("config.json: invalid JSON:", e.Message);
        Assert.Contains("line 2", e.Message);
    }

    [Fact]
    public void WrongTypeNamesTheJsonPath()
    {
        var e = Assert.Throws<RuntimeError>(() => Parse("{\"ociVersion\": \"1.0.0\", \"process\": {\"args\": \"sh\"}}"));
        Assert.StartsWith("config.json: $.process.args: wrong type", e.Message);
    }

    [Fact]
    public void UnknownFieldsAreIgnoredAsTheSpecRequires()
    {
        var spec = Parse("{\"ociVersion\": \"1.0.0\", \"somethingNew\": {\"x\": 1}, \"hostname\": \"h\"}");
        Assert.Equal("h", spec.Hostname);
    }

    [Fact]
    public void DefaultSpecRoundTrips()
    {
        var json = System.Text.Json.JsonSerializer.Serialize(DefaultSpec.Create(false), SpecJsonContext.Default.RuntimeSpec);
        var spec = Parse(json);
        Assert.Equal(new[] { "sh" }, spec.Process!.Args);
        Assert.Equal("rootfs", spec.Root!.Path);
        Assert.Contains(spec.Linux!.Namespaces!, n => n.Type == "mount");
    }

    [Fact]
    public void RootlessSpecMapsTheCallerAndDropsNetworkNamespace()
    {
        var spec = DefaultSpec.Create(true);
        Assert.Contains(spec.Linux!.Namespaces!, n => n.Type == "user");
        Assert.DoesNotContain(spec.Linux.Namespaces!, n => n.Type == "network");
        Assert.Single(spec.Linux.UidMappings!);
        Assert.Null(spec.Linux.Resources);
    }
}
