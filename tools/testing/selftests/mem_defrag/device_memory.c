// SPDX-License-Identifier: GPL-2.0
/*
 * ZONE_DEVICE pages in a MADV_CONTIG vma, made with the kernel's HMM test
 * driver (lib/test_hmm.c, /dev/hmm_dmirrorN): device-private pages (the
 * pte holds a device-private entry; the data lives in device memory) and
 * device-coherent pages (a normal pte maps a ZONE_DEVICE frame the CPU
 * can read, as on GPUs with coherent memory). kcontigd must leave both
 * where they are and finish the rest of the vma; exchange must refuse
 * them. The coherent devices exist only when test_hmm was given two
 * reserved physical ranges (spm_addr_dev0/1), which check.sh's device
 * memory boot does.
 */
#define _GNU_SOURCE
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "../kselftest_harness.h"
#include "contig_util.h"
#include "exchange_util.h"
#include "../../../../lib/test_hmm_uapi.h"

#define NPAGES		512
#define ON_DEVICE	256	/* the first half goes to the device */
#define PM_SWAP		BIT_ULL(62)

static long psize;

FIXTURE(devmem)
{
	int fd;
	char *buf, *mirror;
	char saved_sleep[32];
};

FIXTURE_VARIANT(devmem)
{
	int device;
	bool coherent;
};

FIXTURE_VARIANT_ADD(devmem, private)
{
	.device = 0,
	.coherent = false,
};

FIXTURE_VARIANT_ADD(devmem, coherent)
{
	.device = 2,
	.coherent = true,
};

static int dmirror(int fd, unsigned long request, void *addr, void *ptr,
		   unsigned long npages, unsigned long *cpages)
{
	struct hmm_dmirror_cmd cmd = {
		.addr = (uintptr_t)addr,
		.ptr = (uintptr_t)ptr,
		.npages = npages,
	};

	while (ioctl(fd, request, &cmd))
		if (errno != EINTR)
			return -errno;
	if (cpages)
		*cpages = cmd.cpages;
	return 0;
}

FIXTURE_SETUP(devmem)
{
	char path[64];
	unsigned long cpages = 0, i;

	psize = sysconf(_SC_PAGESIZE);
	self->fd = -1;
	self->buf = MAP_FAILED;
	self->mirror = NULL;
	if (geteuid())
		SKIP(return, "needs root (test_hmm, pagemap PFNs)");
	if (!kcontigd_present())
		SKIP(return, "kernel without kcontigd");
	snprintf(path, sizeof(path), "/dev/hmm_dmirror%d", variant->device);
	self->fd = open(path, O_RDWR);
	if (self->fd < 0)
		SKIP(return, "no %s (CONFIG_TEST_HMM%s)", path,
		     variant->coherent ?
		     " with spm_addr_dev0/1: check.sh's device memory boot" :
		     "");
	ASSERT_EQ(knob_read("scan_sleep_millisecs", self->saved_sleep,
			    sizeof(self->saved_sleep)), 0);
	ASSERT_EQ(knob_write("enabled", "1"), 0);
	ASSERT_EQ(knob_write("scan_sleep_millisecs", "10"), 0);

	self->buf = mmap(NULL, NPAGES * psize, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(self->buf, MAP_FAILED);
	ASSERT_EQ(madvise(self->buf, NPAGES * psize, MADV_NOHUGEPAGE), 0);
	for (i = 0; i < NPAGES; i++)
		fill_page(self->buf + i * psize, psize, 700 + i);
	/* The driver hands back what it migrated, as a device read does. */
	self->mirror = malloc(ON_DEVICE * psize);
	ASSERT_NE(self->mirror, NULL);
	ASSERT_EQ(dmirror(self->fd, HMM_DMIRROR_MIGRATE_TO_DEV, self->buf,
			  self->mirror, ON_DEVICE, &cpages), 0);
	ASSERT_EQ(cpages, ON_DEVICE);
}

FIXTURE_TEARDOWN(devmem)
{
	if (self->buf != MAP_FAILED)
		munmap(self->buf, NPAGES * psize);
	free(self->mirror);
	if (self->fd >= 0) {
		close(self->fd);
		knob_write("scan_sleep_millisecs", self->saved_sleep);
	}
}

/* Every page of the first half is still the device's, as the device says. */
static void expect_on_device(struct __test_metadata *_metadata, int fd,
			     char *buf, bool coherent)
{
	unsigned char prot[ON_DEVICE];
	unsigned char want = coherent ? HMM_DMIRROR_PROT_DEV_COHERENT_LOCAL :
					HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL;
	unsigned long i;

	memset(prot, 0xff, sizeof(prot));
	ASSERT_EQ(dmirror(fd, HMM_DMIRROR_SNAPSHOT, buf, prot, ON_DEVICE,
			  NULL), 0);
	for (i = 0; i < ON_DEVICE; i++) {
		EXPECT_EQ(prot[i] & 0xf0, want)
			TH_LOG("page %lu: snapshot %#x", i, prot[i]);
		if ((prot[i] & 0xf0) != want)
			break;
	}
}

/*
 * kcontigd over a vma whose first half is device memory: it settles, the
 * device pages stay on the device (same frames for coherent memory, the
 * same device-private entries otherwise), and all the data is intact,
 * read by the device and then by the CPU.
 */
TEST_F_TIMEOUT(devmem, kcontigd_leaves_device_pages, 300)
{
	uint64_t before[ON_DEVICE], e;
	char *mirror = self->mirror;
	struct contig_view v;
	unsigned long i;

	for (i = 0; i < ON_DEVICE; i++) {
		before[i] = pagemap_entry_of(getpid(), self->buf + i * psize);
		EXPECT_TRUE(before[i] &
			    (variant->coherent ? PM_PRESENT : PM_SWAP));
	}
	ASSERT_EQ(madvise(self->buf, NPAGES * psize, MADV_CONTIG), 0);
	ASSERT_TRUE(wait_settled(self->buf, &v, 240))
		TH_LOG("state %s after 240 s", v.state);
	TH_LOG("state=%s resident=%ld in_place=%ld holes=%ld", v.state,
	       v.resident, v.in_place, v.holes);
	/* What kcontigd could move, it moved. */
	EXPECT_GE(v.in_place, NPAGES - ON_DEVICE);
	if (variant->coherent)
		EXPECT_GE(v.holes, ON_DEVICE);

	for (i = 0; i < ON_DEVICE; i++) {
		e = pagemap_entry_of(getpid(), self->buf + i * psize);
		EXPECT_EQ(e & (PM_PRESENT | PM_SWAP | PM_PFN_MASK),
			  before[i] & (PM_PRESENT | PM_SWAP | PM_PFN_MASK))
			TH_LOG("page %lu: pagemap %#llx, was %#llx", i,
			       (unsigned long long)e,
			       (unsigned long long)before[i]);
	}
	expect_on_device(_metadata, self->fd, self->buf, variant->coherent);
	ASSERT_EQ(dmirror(self->fd, HMM_DMIRROR_READ, self->buf, mirror,
			  ON_DEVICE, NULL), 0);
	for (i = 0; i < ON_DEVICE; i++)
		EXPECT_TRUE(check_page(mirror + i * psize, psize, 700 + i))
			TH_LOG("device read of page %lu differs", i);
	for (i = 0; i < NPAGES; i++)
		EXPECT_TRUE(check_page(self->buf + i * psize, psize, 700 + i))
			TH_LOG("CPU read of page %lu differs", i);
}

/*
 * The debugfs exchange: a device-coherent page is a ZONE_DEVICE folio,
 * refused by exchange and by its migration fallback (EOPNOTSUPP); a
 * device-private page is no page of the mm at all (ENOENT).
 */
TEST_F(devmem, exchange_refuses_device_pages)
{
	char *dev = self->buf, *sys = self->buf + (NPAGES - 1) * psize;
	int want = variant->coherent ? -EOPNOTSUPP : -ENOENT;
	uint64_t pd = pagemap_entry_of(getpid(), dev);
	uint64_t ps = pagemap_entry_of(getpid(), sys);

	if (!exchange_present())
		SKIP(return, "no %s", EXCHANGE_DEBUGFS);
	EXPECT_EQ(exchange_request(NULL, getpid(), dev, sys), want);
	EXPECT_EQ(exchange_request(NULL, getpid(), sys, dev), want);
	EXPECT_EQ(exchange_request("fallback", getpid(), dev, sys), want);
	EXPECT_EQ(exchange_request("fallback", getpid(), sys, dev), want);
	EXPECT_EQ(pagemap_entry_of(getpid(), dev), pd);
	EXPECT_EQ(pagemap_entry_of(getpid(), sys), ps);
	expect_on_device(_metadata, self->fd, self->buf, variant->coherent);
	EXPECT_TRUE(check_page(dev, psize, 700));
	EXPECT_TRUE(check_page(sys, psize, 700 + NPAGES - 1));
}

TEST_HARNESS_MAIN
