namespace Dune.Oci.Cgroups;

/// <summary>Value conversions between the OCI (cgroup v1 shaped) resources and cgroup v2 files.</summary>
internal static class CgroupConversions
{
    /// <summary>cpu.shares [2, 262144] onto cpu.weight [1, 10000], the mapping runc and crun use so both agree.</summary>
    public static ulong SharesToWeight(ulong shares)
    {
        if (shares == 0) return 0;
        if (shares < 2) shares = 2;
        if (shares > 262144) shares = 262144;
        return 1 + ((shares - 2) * 9999) / 262142;
    }

    /// <summary>blkio.weight [10, 1000] onto io.weight [1, 10000].</summary>
    public static ulong BlkioWeightToIoWeight(ulong weight)
    {
        if (weight == 0) return 0;
        if (weight < 10) weight = 10;
        if (weight > 1000) weight = 1000;
        return 1 + (weight - 10) * 9999 / 990;
    }

    /// <summary>
    /// OCI memory.swap is memory+swap (v1 memsw); v2's memory.swap.max is swap alone.
    /// Returns null when nothing is to be written, "max" for unlimited, or the swap-only byte count.
    /// </summary>
    public static string? SwapToV2(long? limit, long? swap)
    {
        long memory = limit ?? 0;
        long memsw = swap ?? 0;
        // Raising memory to unlimited without naming swap lifts swap too (as v1's memsw would).
        if (memory == -1 && memsw == 0) return "max";
        if (memsw == -1) return "max";
        if (memsw == 0) return null;
        if (memory == 0)
            throw new CgroupException($"linux.resources.memory.swap={memsw} needs memory.limit: cgroup v2 limits swap separately (memory.swap.max = swap - limit)");
        if (memory == -1)
            throw new CgroupException($"linux.resources.memory.swap={memsw} cannot be combined with an unlimited memory.limit on cgroup v2");
        if (memsw < memory)
            throw new CgroupException($"linux.resources.memory.swap={memsw} is below memory.limit={memory} (swap is memory+swap)");
        return (memsw - memory).ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Byte/count limits where -1 (v2: any negative) means unlimited.</summary>
    public static string MaxOrValue(long value) =>
        value < 0 ? "max" : value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public static string Num(long value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public static string Num(ulong value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Hugepage sizes as the kernel names them in hugetlb.&lt;size&gt;.*: digits then KB, MB or GB.</summary>
    public static bool IsHugepageSize(string size)
    {
        if (size.Length < 3) return false;
        string unit = size.Substring(size.Length - 2);
        if (unit is not ("KB" or "MB" or "GB")) return false;
        for (int i = 0; i < size.Length - 2; i++)
            if (!char.IsAsciiDigit(size[i])) return false;
        return true;
    }
}
