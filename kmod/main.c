// SPDX-License-Identifier: GPL-2.0
/* The Dune module: /dev/dune, its permission model and counters, and the choice of hardware
 * backend. Virtualization is switched on for every CPU at load (CPU hotplug callbacks, so
 * CPUs that come online later get it too) and off at unload: the module refuses to load when
 * another hypervisor (kvm_amd, kvm_intel, VirtualBox...) already holds the CPU. Before a
 * reboot, power-off or kexec it is switched off on every CPU too (a CPU left in VMX operation
 * ignores INIT, so the next kernel could not start it). */
#include <linux/cdev.h>
#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/cred.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/reboot.h>
#include <linux/slab.h>
#include <linux/uidgid.h>
#include <linux/version.h>
#include <asm/cpufeature.h>
#include <dune/dune.h>
#include "dune.h"
#include "syscall.h"

/* -1: root only (mode 0600). A gid: the device node is 0660 with that group, and members of
 * the group may open it. */
static int group = -1;
module_param(group, int, 0444);
MODULE_PARM_DESC(group, "gid allowed to open /dev/dune besides root (default -1: root only)");

/* Everything the module holds between load and unload. */
struct dune_module {
	const struct dune_backend *backend;
	struct dune_stats stats;
	dev_t devt;
	struct class *class;
	struct cdev cdev;
	struct device dev;
	int hp_state;
	struct notifier_block reboot_nb;
	/* Set before the reboot notifier switches virtualization off: no entry after it. */
	bool rebooting;
};

static struct dune_module dune;

static bool dune_may_open(void)
{
	if (capable(CAP_SYS_ADMIN))
		return true;
	return group >= 0 && in_group_p(make_kgid(&init_user_ns, group));
}

static int dune_open(struct inode *inode, struct file *file)
{
	if (!dune_may_open())
		return -EPERM;
	atomic64_inc(&dune.stats.open_files);
	return 0;
}

static int dune_release(struct inode *inode, struct file *file)
{
	atomic64_dec(&dune.stats.open_files);
	return 0;
}

static long dune_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	switch (cmd) {
	case DUNE_GET_API_VERSION:
		return arg ? -EINVAL : DUNE_API_VERSION;
	case DUNE_CREATE_VM:
		return arg ? -EINVAL : dune_vm_create(&dune.stats);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations dune_fops = {
	.owner = THIS_MODULE,
	.open = dune_open,
	.release = dune_release,
	.unlocked_ioctl = dune_ioctl,
	.compat_ioctl = NULL, /* 32-bit callers are refused: -ENOTTY */
	.llseek = noop_llseek,
};

#define DUNE_COUNTER(field)                                                          \
	static ssize_t field##_show(struct device *d, struct device_attribute *a,    \
				    char *buf)                                       \
	{                                                                            \
		return sysfs_emit(buf, "%lld\n",                                     \
				  (long long)atomic64_read(&dune.stats.field));      \
	}                                                                            \
	static DEVICE_ATTR_RO(field)

DUNE_COUNTER(open_files);
DUNE_COUNTER(cpu_pages);
DUNE_COUNTER(cpus_enabled);
DUNE_COUNTER(vms);
DUNE_COUNTER(vcpus);
DUNE_COUNTER(table_pages);
DUNE_COUNTER(mapped_pages);
DUNE_COUNTER(asids);
DUNE_COUNTER(vcpu_pages);
DUNE_COUNTER(kernel_syscalls);

const struct dune_backend *dune_backend(void)
{
	return dune.backend;
}

static ssize_t backend_show(struct device *d, struct device_attribute *a, char *buf)
{
	return sysfs_emit(buf, "%s\n", dune.backend->name);
}
static DEVICE_ATTR_RO(backend);

static struct attribute *dune_attrs[] = {
	&dev_attr_backend.attr,
	&dev_attr_open_files.attr,
	&dev_attr_cpu_pages.attr,
	&dev_attr_cpus_enabled.attr,
	&dev_attr_vms.attr,
	&dev_attr_vcpus.attr,
	&dev_attr_table_pages.attr,
	&dev_attr_mapped_pages.attr,
	&dev_attr_asids.attr,
	&dev_attr_vcpu_pages.attr,
	&dev_attr_kernel_syscalls.attr,
	NULL,
};
ATTRIBUTE_GROUPS(dune);

static char *dune_devnode(struct device *d, umode_t *mode, kuid_t *uid, kgid_t *gid)
{
	if (mode)
		*mode = group >= 0 ? 0660 : 0600;
	if (gid && group >= 0)
		*gid = make_kgid(&init_user_ns, group);
	return NULL;
}

static void dune_dev_release(struct device *d)
{
}

static const struct device_type dune_devtype = {
	.name = "dune",
	.groups = dune_groups,
	.devnode = dune_devnode,
	.release = dune_dev_release,
};

static const struct dune_backend *dune_pick_backend(void)
{
	if (boot_cpu_has(X86_FEATURE_SVM))
		return &dune_svm_backend;
	if (boot_cpu_has(X86_FEATURE_VMX))
		return &dune_vmx_backend;
	return NULL;
}

static int dune_cpu_on(unsigned int cpu)
{
	return dune.backend->cpu_on(cpu);
}

static int dune_cpu_off(unsigned int cpu)
{
	return dune.backend->cpu_off(cpu);
}

bool dune_rebooting(void)
{
	return READ_ONCE(dune.rebooting);
}

static void dune_cpu_off_here(void *unused)
{
	dune.backend->cpu_off(smp_processor_id());
}

/* Reboot, halt, power-off and kexec (not a crash: that path calls only the one emergency
 * callback the kernel keeps, which KVM takes when it loads). Entries check dune.rebooting with
 * preemption off (vcpu.c), so once the grace period has passed none is in flight, and no CPU
 * can be in guest mode or between its check and VMRUN/VMLAUNCH when its switch-off IPI lands. */
static int dune_reboot(struct notifier_block *nb, unsigned long action, void *unused)
{
	WRITE_ONCE(dune.rebooting, true);
	synchronize_rcu();
	cpus_read_lock();
	on_each_cpu(dune_cpu_off_here, NULL, 1);
	pr_info("dune: %s switched off on every CPU before %s (cpus_enabled %lld)\n",
		dune.backend->name, action == SYS_RESTART ? "reboot" : "halt or power-off",
		(long long)atomic64_read(&dune.stats.cpus_enabled));
	cpus_read_unlock();
	return NOTIFY_OK;
}

static int dune_device_add(void)
{
	int err;

	err = alloc_chrdev_region(&dune.devt, 0, 1, "dune");
	if (err)
		return err;
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 4, 0)
	dune.class = class_create("dune");
#else
	dune.class = class_create(THIS_MODULE, "dune");
#endif
	if (IS_ERR(dune.class)) {
		err = PTR_ERR(dune.class);
		goto out_region;
	}
	cdev_init(&dune.cdev, &dune_fops);
	dune.cdev.owner = THIS_MODULE;
	device_initialize(&dune.dev);
	dune.dev.devt = dune.devt;
	dune.dev.class = dune.class;
	dune.dev.type = &dune_devtype;
	err = dev_set_name(&dune.dev, "dune");
	if (!err)
		err = cdev_device_add(&dune.cdev, &dune.dev);
	if (!err)
		return 0;
	put_device(&dune.dev);
	class_destroy(dune.class);
out_region:
	unregister_chrdev_region(dune.devt, 1);
	return err;
}

static void dune_device_del(void)
{
	cdev_device_del(&dune.cdev, &dune.dev);
	put_device(&dune.dev);
	class_destroy(dune.class);
	unregister_chrdev_region(dune.devt, 1);
}

static int __init dune_init(void)
{
	int err;

	dune.backend = dune_pick_backend();
	if (!dune.backend) {
		pr_err("dune: this CPU has neither AMD SVM nor Intel VT-x\n");
		return -ENODEV;
	}
	err = dune.backend->probe();
	if (err)
		return err;
	err = dune.backend->init(&dune.stats);
	if (err)
		return err;
	dune_syscall_init(); /* without it every call goes to the monitor, as before */
	err = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "dune:online", dune_cpu_on, dune_cpu_off);
	if (err < 0) {
		if (err == -EBUSY)
			pr_err("dune: %s is already enabled on a CPU: another hypervisor (kvm_amd, kvm_intel, VirtualBox...) holds it; unload it first\n",
			       dune.backend->name);
		goto out_backend;
	}
	dune.hp_state = err;
	dune.reboot_nb.notifier_call = dune_reboot;
	err = register_reboot_notifier(&dune.reboot_nb);
	if (err)
		goto out_cpus;
	err = dune_device_add();
	if (err)
		goto out_reboot;
	pr_info("dune: /dev/dune ready (%s, %s)\n", dune.backend->name,
		group >= 0 ? "root and the group given by group=" : "root only");
	return 0;
out_reboot:
	unregister_reboot_notifier(&dune.reboot_nb);
out_cpus:
	cpuhp_remove_state(dune.hp_state);
out_backend:
	dune.backend->exit();
	return err;
}

static void __exit dune_exit(void)
{
	dune_device_del();
	unregister_reboot_notifier(&dune.reboot_nb);
	cpuhp_remove_state(dune.hp_state);
	dune.backend->exit();
	/* What the module still held (0 unless a bug leaked it): the VM tests check this line. */
	pr_info("dune: unloaded (open_files %lld, cpu_pages %lld, cpus_enabled %lld, vms %lld, vcpus %lld, table_pages %lld, mapped_pages %lld, asids %lld, vcpu_pages %lld)\n",
		(long long)atomic64_read(&dune.stats.open_files),
		(long long)atomic64_read(&dune.stats.cpu_pages),
		(long long)atomic64_read(&dune.stats.cpus_enabled),
		(long long)atomic64_read(&dune.stats.vms),
		(long long)atomic64_read(&dune.stats.vcpus),
		(long long)atomic64_read(&dune.stats.table_pages),
		(long long)atomic64_read(&dune.stats.mapped_pages),
		(long long)atomic64_read(&dune.stats.asids),
		(long long)atomic64_read(&dune.stats.vcpu_pages));
}

module_init(dune_init);
module_exit(dune_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Dune: processes in VMX/SVM non-root mode with their own address space");
