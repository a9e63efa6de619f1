// SPDX-License-Identifier: GPL-2.0
/* A Dune VM: bound for its whole life to the mm of the process that created it. Guest-physical
 * memory is that process's own virtual memory, through slots (gpa -> hva) that must lie in the
 * user address space. The nested page table starts empty; a nested page fault on a slot
 * address takes the page from the process's own page tables (get_user_pages on current->mm,
 * which must be the VM's mm) and maps it, holding a page reference; an MMU-notifier
 * invalidation of the process's range drops the entries (after every running vCPU has left
 * guest mode, so no stale translation survives) and then the references. Nothing else can
 * reach a page: not kernel memory, not another process's. */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/highmem.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/uaccess.h>
#include "dune.h"
#include "syscall.h"

#define NPT_MAX_LEVELS 5
#define NPT_GPA_BITS 48

static unsigned int npt_index(u64 gpa, int level)
{
	return (gpa >> (PAGE_SHIFT + 9 * level)) & 511;
}

static u64 *npt_table_of(u64 pte)
{
	return __va(pte & PTE_PFN_MASK);
}

/* Pages whose references are dropped only after every vCPU left guest mode. */
struct zap_batch {
	struct page *pages[64];
	int n;
};

static void dune_ipi_noop(void *info)
{
}

/* Makes every vCPU of the VM that is in guest mode on another CPU exit (an IPI: interrupts
 * are intercepted) and waits until they did. Each entry flushes the guest TLB, so after this
 * no CPU holds a translation from before. Called with vm->lock held. */
static void vm_kick_all(struct dune_vm *vm)
{
	struct dune_vcpu *v;
	bool any = false;

	cpumask_clear(vm->ipi_mask);
	smp_mb(); /* the cleared entries before reading in_guest (pairs with vcpu.c) */
	list_for_each_entry(v, &vm->vcpus, node) {
		int cpu = READ_ONCE(v->in_guest);

		if (cpu >= 0) {
			cpumask_set_cpu(cpu, vm->ipi_mask);
			any = true;
		}
	}
	if (any)
		smp_call_function_many(vm->ipi_mask, dune_ipi_noop, NULL, true);
}

static void zap_flush(struct dune_vm *vm, struct zap_batch *b)
{
	int i;

	if (!b->n)
		return;
	vm_kick_all(vm);
	for (i = 0; i < b->n; i++)
		put_page(b->pages[i]);
	atomic64_sub(b->n, &vm->stats->mapped_pages);
	b->n = 0;
}

static void zap_leaf(struct dune_vm *vm, u64 *pte, struct zap_batch *b)
{
	struct page *page = pfn_to_page((*pte & PTE_PFN_MASK) >> PAGE_SHIFT);
	bool noref = *pte & DUNE_PTE_NOREF;

	WRITE_ONCE(*pte, 0);
	if (noref) {
		/* No reference to drop, but no CPU may keep the translation either. */
		vm_kick_all(vm);
		return;
	}
	if (b->n == ARRAY_SIZE(b->pages))
		zap_flush(vm, b);
	b->pages[b->n++] = page;
}

/* Clears the leaves covering [start, end) under table (at level, covering from base). */
static void zap_range(struct dune_vm *vm, u64 *table, int level, u64 base, u64 start, u64 end,
		      struct zap_batch *b)
{
	u64 span = 1ULL << (PAGE_SHIFT + 9 * level);
	unsigned int i;

	for (i = 0; i < 512; i++) {
		u64 lo = base + i * span, hi = lo + span;

		if (hi <= start || lo >= end || !dune_backend()->pte_present(table[i]))
			continue;
		if (level == 0)
			zap_leaf(vm, &table[i], b);
		else
			zap_range(vm, npt_table_of(table[i]), level - 1, lo, start, end, b);
	}
}

static void vm_zap(struct dune_vm *vm, u64 start, u64 end)
{
	struct zap_batch b = { .n = 0 };

	zap_range(vm, vm->root, vm->levels - 1, 0, start, end, &b);
	zap_flush(vm, &b);
}

/* The slot holding gpa, or NULL. Called with vm->lock held. */
static const struct dune_slot *slot_find(struct dune_vm *vm, u64 gpa)
{
	int lo = 0, hi = vm->nslots - 1;

	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		const struct dune_slot *s = &vm->slots[mid];

		if (gpa < s->gpa)
			hi = mid - 1;
		else if (gpa >= s->gpa + s->size)
			lo = mid + 1;
		else
			return s;
	}
	return NULL;
}

/* Walks to the leaf entry of gpa, taking table pages from spare when missing; NULL when a
 * table is missing and no spare is left. Called with vm->lock held. */
static u64 *npt_leaf(struct dune_vm *vm, u64 gpa, struct page **spare, int *nspare)
{
	u64 *table = vm->root;
	int level;

	for (level = vm->levels - 1; level > 0; level--) {
		u64 *pte = &table[npt_index(gpa, level)];

		if (!dune_backend()->pte_present(*pte)) {
			struct page *p;

			if (!*nspare)
				return NULL;
			p = spare[--*nspare];
			atomic64_inc(&vm->stats->table_pages);
			WRITE_ONCE(*pte, dune_backend()->pte_table(page_to_phys(p)));
		}
		table = npt_table_of(*pte);
	}
	return &table[npt_index(gpa, 0)];
}

/* The page behind hva in a VM_PFNMAP/VM_IO mapping of the current process (get_user_pages
 * refuses those: the vDSO's data page is one), faulted in if needed. RAM only: a device's
 * memory is never mapped into a guest. A reserved page is mapped without a reference
 * (*noref); any other gets one. */
static struct page *pfnmap_page(unsigned long hva, bool write, bool *noref)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	struct page *page = NULL;
	spinlock_t *ptl;
	pte_t *ptep;
	int tries;

	mmap_read_lock(mm);
	vma = find_vma(mm, hva);
	if (!vma || vma->vm_start > hva || !(vma->vm_flags & (VM_IO | VM_PFNMAP)))
		goto out;
	for (tries = 0; tries < 2 && !page; tries++) {
		if (follow_pte(mm, hva, &ptep, &ptl) == 0) {
			pte_t pte = *ptep;
			unsigned long pfn = pte_pfn(pte);

			if ((!write || pte_write(pte)) && pfn_valid(pfn)) {
				page = pfn_to_page(pfn);
				*noref = PageReserved(page);
				if (!*noref && !get_page_unless_zero(page))
					page = NULL;
			}
			pte_unmap_unlock(ptep, ptl);
			if (page)
				break;
		}
		if (fixup_user_fault(mm, hva, write ? FAULT_FLAG_WRITE : 0, NULL))
			break;
	}
out:
	mmap_read_unlock(mm);
	return page;
}

/* The caller's virtual address behind gpa, if a slot holds it. */
bool dune_vm_hva(struct dune_vm *vm, u64 gpa, unsigned long *hva)
{
	const struct dune_slot *s;

	spin_lock(&vm->lock);
	s = slot_find(vm, gpa);
	if (s)
		*hva = s->hva + (gpa - s->gpa);
	spin_unlock(&vm->lock);
	return s != NULL;
}

/* Maps the page behind gpa for a nested page fault. 0: mapped or raced (the guest retries),
 * -ENOENT: gpa is in no slot, -EFAULT: the process cannot back it (for this access). */
int dune_vm_fault(struct dune_vm *vm, u64 gpa, bool write)
{
	struct page *spare[NPT_MAX_LEVELS - 1], *page;
	int nspare = 0, rc = 0, n;
	unsigned long seq, hva;
	const struct dune_slot *s;
	bool noref = false;
	u64 *pte;

	spin_lock(&vm->lock);
	s = slot_find(vm, gpa);
	hva = s ? s->hva + (gpa - s->gpa) : 0;
	seq = vm->mmu_seq;
	spin_unlock(&vm->lock);
	if (!s)
		return -ENOENT;
	if (current->mm != vm->mm)
		return -EIO;
	smp_rmb();
	n = get_user_pages_unlocked(hva & PAGE_MASK, 1, &page, write ? FOLL_WRITE : 0);
	if (n != 1) {
		page = pfnmap_page(hva & PAGE_MASK, write, &noref);
		if (!page)
			return -EFAULT;
	}
	while (nspare < vm->levels - 1) {
		struct page *p = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);

		if (!p)
			break;
		spare[nspare++] = p;
	}
	spin_lock(&vm->lock);
	if (vm->dead || vm->invalidating || seq != vm->mmu_seq)
		goto out_put; /* an invalidation ran meanwhile: the page may be stale, retry */
	pte = npt_leaf(vm, gpa & PAGE_MASK, spare, &nspare);
	if (!pte) {
		rc = -ENOMEM;
		goto out_put;
	}
	if (dune_backend()->pte_present(*pte)) {
		/* Already mapped (another vCPU, or read-only and now written): replace it. */
		struct zap_batch b = { .n = 0 };

		zap_leaf(vm, pte, &b);
		zap_flush(vm, &b);
	}
	WRITE_ONCE(*pte, dune_backend()->pte_leaf(page_to_phys(page), write) |
			 (noref ? DUNE_PTE_NOREF : 0));
	if (!noref)
		atomic64_inc(&vm->stats->mapped_pages);
	page = NULL;
out_put:
	spin_unlock(&vm->lock);
	if (page && !noref)
		put_page(page);
	while (nspare)
		__free_page(spare[--nspare]);
	return rc;
}

static struct dune_vm *mn_vm(struct mmu_notifier *mn)
{
	return container_of(mn, struct dune_vm, mn);
}

static int dune_mn_start(struct mmu_notifier *mn, const struct mmu_notifier_range *range)
{
	struct dune_vm *vm = mn_vm(mn);

	spin_lock(&vm->lock);
	vm->invalidating++;
	vm->mmu_seq++;
	vm_zap(vm, range->start, range->end);
	spin_unlock(&vm->lock);
	return 0;
}

static void dune_mn_end(struct mmu_notifier *mn, const struct mmu_notifier_range *range)
{
	struct dune_vm *vm = mn_vm(mn);

	spin_lock(&vm->lock);
	vm->invalidating--;
	vm->mmu_seq++;
	spin_unlock(&vm->lock);
}

/* The address space is going away (exit, exec): drop everything, refuse further runs. */
static void dune_mn_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct dune_vm *vm = mn_vm(mn);

	spin_lock(&vm->lock);
	vm->dead = true;
	vm->mmu_seq++;
	vm_zap(vm, 0, 1ULL << NPT_GPA_BITS);
	spin_unlock(&vm->lock);
}

static const struct mmu_notifier_ops dune_mn_ops = {
	.invalidate_range_start = dune_mn_start,
	.invalidate_range_end = dune_mn_end,
	.release = dune_mn_release,
};

static void npt_free(struct dune_vm *vm, u64 *table, int level)
{
	unsigned int i;

	for (i = 0; level > 0 && i < 512; i++) {
		if (dune_backend()->pte_present(table[i])) {
			npt_free(vm, npt_table_of(table[i]), level - 1);
			atomic64_dec(&vm->stats->table_pages);
		}
	}
	free_page((unsigned long)table);
}

static int slot_add(struct dune_vm *vm, const struct dune_slot *in)
{
	struct dune_slot *slots;
	int i, rc = 0;

	if (!in->size || !PAGE_ALIGNED(in->gpa) || !PAGE_ALIGNED(in->size) || !PAGE_ALIGNED(in->hva))
		return -EINVAL;
	if (in->gpa + in->size < in->gpa || in->gpa + in->size > (1ULL << NPT_GPA_BITS))
		return -EINVAL;
	/* User memory only: never a kernel address, whatever the process maps there. */
	if (in->hva + in->size < in->hva || in->hva + in->size > TASK_SIZE_MAX)
		return -EINVAL;
	slots = kvmalloc_array(vm->nslots + 1, sizeof(*slots), GFP_KERNEL_ACCOUNT);
	if (!slots)
		return -ENOMEM;
	spin_lock(&vm->lock);
	if (vm->nslots >= DUNE_MAX_SLOTS) {
		rc = -ENOSPC;
		goto out;
	}
	for (i = 0; i < vm->nslots && vm->slots[i].gpa < in->gpa; i++)
		;
	if ((i > 0 && vm->slots[i - 1].gpa + vm->slots[i - 1].size > in->gpa) ||
	    (i < vm->nslots && in->gpa + in->size > vm->slots[i].gpa)) {
		rc = -EEXIST;
		goto out;
	}
	memcpy(slots, vm->slots, i * sizeof(*slots));
	slots[i] = *in;
	memcpy(slots + i + 1, vm->slots + i, (vm->nslots - i) * sizeof(*slots));
	swap(slots, vm->slots);
	vm->nslots++;
out:
	spin_unlock(&vm->lock);
	kvfree(slots);
	return rc;
}

static int dune_vm_release(struct inode *inode, struct file *file)
{
	struct dune_vm *vm = file->private_data;

	/* No vCPU is left (each holds the VM's file). Runs release() if the mm still lives. */
	mmu_notifier_unregister(&vm->mn, vm->mm);
	npt_free(vm, vm->root, vm->levels - 1);
	dune_syscall_free(vm);
	dune_backend()->vm_free(vm);
	mmdrop(vm->mm);
	free_cpumask_var(vm->ipi_mask);
	kvfree(vm->slots);
	atomic64_dec(&vm->stats->vms);
	kfree(vm);
	return 0;
}

static long dune_vm_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct dune_vm *vm = file->private_data;
	struct dune_slot slot;

	if (current->mm != vm->mm)
		return -EIO; /* a forked child: its VM is its own DUNE_CREATE_VM */
	switch (cmd) {
	case DUNE_SET_SLOT:
		if (copy_from_user(&slot, (void __user *)arg, sizeof(slot)))
			return -EFAULT;
		return slot_add(vm, &slot);
	case DUNE_FLUSH:
		/* Every entry flushes the guest TLB: make the running vCPUs re-enter. */
		if (arg)
			return -EINVAL;
		spin_lock(&vm->lock);
		vm_kick_all(vm);
		spin_unlock(&vm->lock);
		return 0;
	case DUNE_CREATE_VCPU:
		if (arg)
			return -EINVAL;
		return dune_vcpu_create(vm, file);
	case DUNE_SET_SYSCALLS:
		return dune_syscall_set(vm, (const void __user *)arg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations dune_vm_fops = {
	.owner = THIS_MODULE,
	.release = dune_vm_release,
	.unlocked_ioctl = dune_vm_ioctl,
	.llseek = noop_llseek,
};

bool dune_vm_is_vm_file(struct file *file)
{
	return file->f_op == &dune_vm_fops;
}

int dune_vm_create(struct dune_stats *stats)
{
	struct dune_vm *vm;
	int rc = -ENOMEM, fd;

	if (!current->mm)
		return -EINVAL;
	vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	if (!vm)
		return -ENOMEM;
	vm->stats = stats;
	spin_lock_init(&vm->lock);
	INIT_LIST_HEAD(&vm->vcpus);
	if (!zalloc_cpumask_var(&vm->ipi_mask, GFP_KERNEL_ACCOUNT))
		goto out_vm;
	vm->root = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!vm->root)
		goto out_mask;
	vm->levels = dune_backend()->levels();
	rc = dune_backend()->vm_init(vm);
	if (rc)
		goto out_root;
	vm->mm = current->mm;
	mmgrab(vm->mm);
	vm->mn.ops = &dune_mn_ops;
	rc = mmu_notifier_register(&vm->mn, vm->mm);
	if (rc)
		goto out_mm;
	atomic64_inc(&stats->vms);
	fd = anon_inode_getfd("dune-vm", &dune_vm_fops, vm, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		/* The file never existed: undo by hand what its release would do. */
		mmu_notifier_unregister(&vm->mn, vm->mm);
		atomic64_dec(&stats->vms);
		rc = fd;
		goto out_mm;
	}
	return fd;
out_mm:
	mmdrop(vm->mm);
	dune_backend()->vm_free(vm);
out_root:
	free_page((unsigned long)vm->root);
out_mask:
	free_cpumask_var(vm->ipi_mask);
out_vm:
	kfree(vm);
	return rc;
}
