using System.Text.Json.Serialization;

namespace Dune.Oci.Cgroups;

// The "data" object of `runc events --stats`: same names and shape, so tools that read runc's output read ours.

public sealed class CgroupStats
{
    [JsonPropertyName("cpu")] public CpuStats Cpu { get; set; } = new();
    [JsonPropertyName("memory")] public MemoryStats Memory { get; set; } = new();
    [JsonPropertyName("pids")] public PidsStats Pids { get; set; } = new();
    [JsonPropertyName("blkio")] public BlkioStats Blkio { get; set; } = new();
    [JsonPropertyName("hugetlb")] public Dictionary<string, HugetlbStats> Hugetlb { get; set; } = new();
}

public sealed class CpuStats
{
    [JsonPropertyName("usage")] public CpuUsage Usage { get; set; } = new();
    [JsonPropertyName("throttling")] public CpuThrottling Throttling { get; set; } = new();
}

/// <summary>CPU time in nanoseconds.</summary>
public sealed class CpuUsage
{
    [JsonPropertyName("total")] public ulong Total { get; set; }
    [JsonPropertyName("percpu")] public List<ulong>? PerCpu { get; set; }
    [JsonPropertyName("kernel")] public ulong Kernel { get; set; }
    [JsonPropertyName("user")] public ulong User { get; set; }
}

public sealed class CpuThrottling
{
    [JsonPropertyName("periods")] public ulong Periods { get; set; }
    [JsonPropertyName("throttledPeriods")] public ulong ThrottledPeriods { get; set; }
    /// <summary>Nanoseconds.</summary>
    [JsonPropertyName("throttledTime")] public ulong ThrottledTime { get; set; }
}

public sealed class MemoryStats
{
    [JsonPropertyName("cache")] public ulong Cache { get; set; }
    [JsonPropertyName("usage")] public MemoryEntry Usage { get; set; } = new();
    [JsonPropertyName("swap")] public MemoryEntry Swap { get; set; } = new();
    [JsonPropertyName("kernel")] public MemoryEntry Kernel { get; set; } = new();
    [JsonPropertyName("raw")] public Dictionary<string, ulong> Raw { get; set; } = new();
}

/// <summary>Bytes; a limit of ulong.MaxValue (v2 "max") or the v1 page-rounded maximum means unlimited.</summary>
public sealed class MemoryEntry
{
    [JsonPropertyName("limit")] public ulong Limit { get; set; }
    [JsonPropertyName("usage")] public ulong Usage { get; set; }
    [JsonPropertyName("max")] public ulong Max { get; set; }
    [JsonPropertyName("failcnt")] public ulong Failcnt { get; set; }
}

public sealed class PidsStats
{
    [JsonPropertyName("current")] public ulong Current { get; set; }
    /// <summary>0 when unlimited, as runc reports it.</summary>
    [JsonPropertyName("limit")] public ulong Limit { get; set; }
}

public sealed class BlkioStats
{
    [JsonPropertyName("ioServiceBytesRecursive")] public List<BlkioEntry>? IoServiceBytesRecursive { get; set; }
    [JsonPropertyName("ioServicedRecursive")] public List<BlkioEntry>? IoServicedRecursive { get; set; }
}

public sealed class BlkioEntry
{
    [JsonPropertyName("major")] public ulong Major { get; set; }
    [JsonPropertyName("minor")] public ulong Minor { get; set; }
    [JsonPropertyName("op")] public string Op { get; set; } = "";
    [JsonPropertyName("value")] public ulong Value { get; set; }
}

public sealed class HugetlbStats
{
    [JsonPropertyName("usage")] public ulong Usage { get; set; }
    [JsonPropertyName("max")] public ulong Max { get; set; }
    [JsonPropertyName("failcnt")] public ulong Failcnt { get; set; }
}
