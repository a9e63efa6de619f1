using Dune.Oci.Cgroups;
using Dune.Oci.Spec;
using Xunit;

namespace Dune.Oci.Tests.Cgroups;

public sealed class CgroupConversionTests
{
    [Theory]
    [InlineData(2UL, 1UL)]
    [InlineData(1024UL, 39UL)]
    [InlineData(262144UL, 10000UL)]
    [InlineData(512UL, 20UL)]
    [InlineData(100000UL, 3815UL)]
    public void SharesToWeight(ulong shares, ulong weight) => Assert.Equal(weight, CgroupConversions.SharesToWeight(shares));

    [Theory]
    [InlineData(10UL, 1UL)]
    [InlineData(500UL, 4950UL)]
    [InlineData(1000UL, 10000UL)]
    public void BlkioWeightToIoWeight(ulong w, ulong io) => Assert.Equal(io, CgroupConversions.BlkioWeightToIoWeight(w));

    [Theory]
    [InlineData(null, null, null)]
    [InlineData(-1L, null, "max")]
    [InlineData(100L, -1L, "max")]
    [InlineData(100L, 300L, "200")]
    [InlineData(100L, 100L, "0")]
    public void SwapToV2(long? limit, long? swap, string? expected) => Assert.Equal(expected, CgroupConversions.SwapToV2(limit, swap));

    [Theory]
    [InlineData(null, 300L)]
    [InlineData(-1L, 300L)]
    [InlineData(400L, 300L)]
    public void SwapToV2Refusals(long? limit, long? swap) =>
        Assert.Throws<CgroupException>(() => CgroupConversions.SwapToV2(limit, swap));
}
