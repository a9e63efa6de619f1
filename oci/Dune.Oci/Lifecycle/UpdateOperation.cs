using Dune.Oci.Cgroups;
using Dune.Oci.Spec;

namespace Dune.Oci.Lifecycle;

/// <summary>`update`: new cgroup limits for a live container, remembered in its state.</summary>
public static class UpdateOperation
{
    public static void Run(RuntimeContext ctx, string id, LinuxResources resources)
    {
        using var _ = ctx.Store.Lock(id);
        var record = ctx.Store.Load(id);
        var status = ContainerStatus.Of(record, ctx.Store);
        if (status == ContainerStatus.Stopped)
            throw new RuntimeError($"cannot update container \"{id}\": it is stopped");
        try { ContainerStatus.Cgroup(record).Update(resources); }
        catch (CgroupException e) { throw new RuntimeError($"update {id}: {e.Message}"); }
        record.Config.Linux ??= new Spec.Linux();
        record.Config.Linux.Resources = ResourceMerge.Merge(record.Config.Linux.Resources, resources);
        ctx.Store.Save(record);
    }
}
