/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kcontigd: make user memory physically contiguous on demand.
 * See Documentation/admin-guide/mm/kcontigd.rst.
 */
#ifndef _LINUX_MEM_DEFRAG_H
#define _LINUX_MEM_DEFRAG_H

#include <linux/errno.h>
#include <linux/mm_types.h>
#include <linux/sched/coredump.h>

struct seq_file;
struct pid_namespace;
struct pid;
struct task_struct;

#ifdef CONFIG_MEM_DEFRAG
int mem_defrag_madvise(struct vm_area_struct *vma, unsigned long *vm_flags,
		       unsigned long start, unsigned long end, int advice);
void __mem_defrag_exit(struct mm_struct *mm);
void mem_defrag_pause_mm(struct mm_struct *mm);
void mem_defrag_resume_mm(struct mm_struct *mm);
int proc_pid_contig(struct seq_file *m, struct pid_namespace *ns,
		    struct pid *pid, struct task_struct *task);

static inline void mem_defrag_exit(struct mm_struct *mm)
{
	if (test_bit(MMF_VM_CONTIG, &mm->flags))
		__mem_defrag_exit(mm);
}
#else
static inline int mem_defrag_madvise(struct vm_area_struct *vma,
				     unsigned long *vm_flags,
				     unsigned long start, unsigned long end,
				     int advice)
{
	return -EINVAL;
}

static inline void mem_defrag_exit(struct mm_struct *mm)
{
}

static inline void mem_defrag_pause_mm(struct mm_struct *mm)
{
}

static inline void mem_defrag_resume_mm(struct mm_struct *mm)
{
}
#endif /* CONFIG_MEM_DEFRAG */

#endif /* _LINUX_MEM_DEFRAG_H */
