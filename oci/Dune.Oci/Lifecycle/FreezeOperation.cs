using Dune.Oci.Cgroups;

namespace Dune.Oci.Lifecycle;

/// <summary>`pause` and `resume`: the cgroup freezer.</summary>
public static class FreezeOperation
{
    public static void Pause(RuntimeContext ctx, string id) => Change(ctx, id, ContainerStatus.Running, freeze: true);
    public static void Resume(RuntimeContext ctx, string id) => Change(ctx, id, ContainerStatus.Paused, freeze: false);

    private static void Change(RuntimeContext ctx, string id, string required, bool freeze)
    {
        using var _ = ctx.Store.Lock(id);
        var record = ctx.Store.Load(id);
        var status = ContainerStatus.Of(record, ctx.Store);
        if (status != required)
            throw new RuntimeError($"cannot {(freeze ? "pause" : "resume")} container \"{id}\": it is {status}");
        try
        {
            var cgroup = ContainerStatus.Cgroup(record);
            if (freeze) cgroup.Freeze(); else cgroup.Thaw();
        }
        catch (CgroupException e) { throw new RuntimeError($"{(freeze ? "pause" : "resume")} {id}: {e.Message}"); }
    }
}
