using Dune.Oci.Cgroups;
using Dune.Oci.Planning;
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
        // New device rules replace the old ones and get the same always-allowed devices as at create
        // (runc 1.1's update ignores linux.resources.devices; dune applies them: v1 writes the transition
        // to devices.allow/deny, v2 replaces the device program). What is remembered is the list as given.
        var given = resources.Devices;
        resources.Devices = DeviceCgroupRules.For(given);
        try { ContainerStatus.Cgroup(record).Update(resources); }
        catch (CgroupException e) { throw new RuntimeError($"update {id}: {e.Message}"); }
        finally { resources.Devices = given; }
        record.Config.Linux ??= new Spec.Linux();
        record.Config.Linux.Resources = ResourceMerge.Merge(record.Config.Linux.Resources, resources);
        ctx.Store.Save(record);
    }
}
