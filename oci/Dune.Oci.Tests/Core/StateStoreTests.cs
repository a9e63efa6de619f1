using Dune.Oci.State;
using Xunit;

namespace Dune.Oci.Tests.Core;

/// <summary>Ids become paths only through the state store, so it is where they are checked.</summary>
public class StateStoreTests
{
    [Theory]
    [InlineData("../escape")]
    [InlineData("a/b")]
    [InlineData("..")]
    [InlineData("")]
    public void AnInvalidIdNeverBecomesAPath(string id)
    {
        var store = new StateStore(Path.Combine(Path.GetTempPath(), "dune-store-test"));
        Assert.Contains("invalid container id", Assert.Throws<RuntimeError>(() => store.DirOf(id)).Message);
        Assert.Throws<RuntimeError>(() => store.Lock(id));
        Assert.Throws<RuntimeError>(() => store.Exists(id));
    }

    [Fact]
    public void ListingSkipsDirectoriesThatAreNoContainerId()
    {
        var root = Directory.CreateTempSubdirectory("dune-store-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(root, "good"));
            File.WriteAllText(Path.Combine(root, "good", "state.json"), "{}");
            Directory.CreateDirectory(Path.Combine(root, "bad name"));
            File.WriteAllText(Path.Combine(root, "bad name", "state.json"), "{}");
            Assert.Equal(new[] { "good" }, new StateStore(root).Ids());
        }
        finally { Directory.Delete(root, recursive: true); }
    }
}
