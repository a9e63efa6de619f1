using Dune.Oci.Cgroups;
using Dune.Oci.Spec;
using Dune.Oci.State;

namespace Dune.Oci.Lifecycle;

/// <summary>The runtime-spec status of a container, derived from its init process and cgroup.</summary>
public static class ContainerStatus
{
    public const string Creating = "creating", Created = "created", Running = "running", Stopped = "stopped", Paused = "paused";

    public static string Of(ContainerRecord r, StateStore store)
    {
        bool alive = ProcStat.IsAlive(r.InitPid, r.InitStartTime);
        if (!alive) return Stopped;
        if (r.Creating) return Creating;
        if (File.Exists(store.ExecFifo(r.Id))) return Created;
        try
        {
            if (Cgroup(r).GetFreezerState() == FreezerState.Frozen) return Paused;
        }
        catch (CgroupException) { }
        return Running;
    }

    public static ICgroupManager Cgroup(ContainerRecord r) =>
        CgroupManagerFactory.Open(r.CgroupsPath, r.Id, r.SystemdCgroup);

    public static ContainerState StateOf(ContainerRecord r, StateStore store)
    {
        var status = Of(r, store);
        return new ContainerState
        {
            Id = r.Id,
            Pid = status == Stopped ? 0 : r.InitPid,
            Status = status,
            Bundle = r.Bundle,
            Rootfs = r.Rootfs,
            Created = r.Created,
            Owner = r.Owner,
            Annotations = r.Config.Annotations,
        };
    }

    public static byte[] StateJson(ContainerState s) =>
        System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(s, SpecJsonContext.Default.ContainerState);
}
