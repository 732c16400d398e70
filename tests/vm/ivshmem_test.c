// SPDX-License-Identifier: MIT
/*
 * The two ivshmem PCI devices tools/vm/run.sh gives every boot, checked
 * from the guest without a driver: both are present with the BARs QEMU
 * gives them, and the device processes on the host follow VMCTL: the
 * heartbeat in BAR2 (read through sysfs' resource2) advances while a
 * device runs, stops once it is killed and advances again after a start.
 *
 * To see the heartbeat the test plays the host driver's part of the
 * directory (tests/dir_host.h).  A driver bound to the device is unbound
 * for the test and bound again afterwards.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "dir_host.h"
#include "vmctl.h"

#define PCI_DIR		"/sys/bus/pci/devices"
#define HB_MS		20u
#define WAIT_MS		60000u

/* IORESOURCE_* flags of a BAR in sysfs' resource file. */
#define RES_MEM		0x00000200ull
#define RES_PREFETCH	0x00002000ull
#define RES_MEM_64	0x00100000ull

struct ivdev {
	char path[300];
	__u64 start[3], size[3], flags[3];
};

static __u64 read_hex(const char *dir, const char *name)
{
	char path[400];
	unsigned long long v = ~0ull;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		return ~0ull;
	if (fscanf(f, "%llx", &v) != 1)
		v = ~0ull;
	fclose(f);
	return v;
}

static int read_bars(struct ivdev *d)
{
	unsigned long long s, e, fl;
	char path[400];
	int i, ok = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/resource", d->path);
	f = fopen(path, "r");
	if (!f)
		return -1;
	for (i = 0; i < 3 && fscanf(f, "%llx %llx %llx", &s, &e, &fl) == 3; i++) {
		d->start[i] = s;
		d->size[i] = e > s ? e - s + 1 : 0;
		d->flags[i] = fl;
		ok++;
	}
	fclose(f);
	return ok == 3 ? 0 : -1;
}

/*
 * Every 1af4:1110 device, in bus order; the doorbell one is the one with
 * BAR1 (its MSI-X table).  Returns how many there are (at most @max).
 */
static int find_ivshmem(struct ivdev *out, int max)
{
	struct dirent **names;
	int i, n, found = 0;

	n = scandir(PCI_DIR, &names, NULL, alphasort);
	for (i = 0; i < n; i++) {
		struct ivdev d;

		memset(&d, 0, sizeof(d));
		snprintf(d.path, sizeof(d.path), PCI_DIR "/%s", names[i]->d_name);
		if (names[i]->d_name[0] != '.' &&
		    read_hex(d.path, "vendor") == 0x1af4 &&
		    read_hex(d.path, "device") == 0x1110 && !read_bars(&d) &&
		    found < max)
			out[found++] = d;
		free(names[i]);
	}
	if (n >= 0)
		free(names);
	return found;
}

/* Device @which (0: doorbell, 1: plain), or -1 with @d untouched. */
static int find_one(int which, struct ivdev *d)
{
	struct ivdev all[8];
	int i, n = find_ivshmem(all, 8);

	for (i = 0; i < n; i++)
		if (!!all[i].size[1] == !which) {
			*d = all[i];
			return 0;
		}
	return -1;
}

/* A PCI capability @id in the device's config space? */
static int has_cap(const char *dir, unsigned int id)
{
	unsigned char cfg[256];
	char path[400];
	unsigned int pos, guard = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/config", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, cfg, sizeof(cfg));
	close(fd);
	if (n < 64 || !(cfg[6] & 0x10))	/* status: capability list */
		return 0;
	for (pos = cfg[0x34] & ~3u; pos >= 0x40 && pos < (unsigned int)n &&
	     guard < 48; pos = cfg[pos + 1] & ~3u, guard++)
		if (cfg[pos] == id)
			return 1;
	return 0;
}

TEST(both_devices_present_with_their_bars)
{
	struct ivdev all[8], *bell = NULL, *plain = NULL;
	int i, n = find_ivshmem(all, 8);

	ASSERT_EQ(2, n);
	for (i = 0; i < n; i++) {
		if (all[i].size[1])
			bell = &all[i];
		else
			plain = &all[i];
	}
	ASSERT_NE(NULL, bell);
	ASSERT_NE(NULL, plain);
	/* BAR0: the 256-byte register block, both. */
	EXPECT_EQ(256ull, bell->size[0]);
	EXPECT_EQ(256ull, plain->size[0]);
	EXPECT_EQ(RES_MEM, bell->flags[0] & RES_MEM);
	EXPECT_EQ(RES_MEM, plain->flags[0] & RES_MEM);
	/* BAR1: the MSI-X table and PBA, only ivshmem-doorbell. */
	EXPECT_EQ(4096ull, bell->size[1]);
	EXPECT_EQ(0ull, plain->size[1]);
	EXPECT_TRUE(has_cap(bell->path, 0x11));
	EXPECT_FALSE(has_cap(plain->path, 0x11));
	/* BAR2: the shared memory, 64-bit prefetchable, run.sh's sizes. */
	EXPECT_EQ(32ull << 20, bell->size[2]);
	EXPECT_EQ(16ull << 20, plain->size[2]);
	EXPECT_EQ(RES_MEM | RES_PREFETCH | RES_MEM_64,
		  bell->flags[2] & (RES_MEM | RES_PREFETCH | RES_MEM_64));
	EXPECT_EQ(RES_MEM | RES_PREFETCH | RES_MEM_64,
		  plain->flags[2] & (RES_MEM | RES_PREFETCH | RES_MEM_64));
	EXPECT_EQ(1ull, read_hex(bell->path, "revision"));
	EXPECT_EQ(1ull, read_hex(plain->path, "revision"));
}

TEST(vmctl_refuses_what_it_cannot_do)
{
	char why[256];

	EXPECT_EQ(-EIO, vmctl(why, sizeof(why), "no-such-command 1"));
	TH_LOG("%s", why);
	EXPECT_EQ(-EIO, vmctl(why, sizeof(why), "kill-device 7"));
	EXPECT_EQ(-EIO, vmctl(why, sizeof(why), "start-device 0"))
		TH_LOG("device 0 runs: a second start is refused (%s)", why);
}

FIXTURE(bar) {
	struct ivdev d;
	char driver[300];		/* a driver we unbound, to bind again */
	char bdf[64];
	__u64 was_enabled;
	void *mem, *regs;
	int killed;
};

FIXTURE_VARIANT(bar) {
	int which;			/* 0: ivshmem-doorbell, 1: ivshmem-plain */
};

FIXTURE_VARIANT_ADD(bar, doorbell) {
	.which = 0,
};

FIXTURE_VARIANT_ADD(bar, plain) {
	.which = 1,
};

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ok;

	if (fd < 0)
		return -errno;
	ok = write(fd, s, strlen(s)) == (ssize_t)strlen(s);
	close(fd);
	return ok ? 0 : -EIO;
}

static void *map_bar(const char *dir, int bar, __u64 size)
{
	char path[400];
	void *p;
	int fd;

	snprintf(path, sizeof(path), "%s/resource%d", dir, bar);
	fd = open(path, O_RDWR | O_SYNC | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

FIXTURE_SETUP(bar)
{
	char link[400], target[300], *base;
	ssize_t n;

	ASSERT_EQ(0, find_one(variant->which, &self->d));
	base = strrchr(self->d.path, '/');
	snprintf(self->bdf, sizeof(self->bdf), "%s", base + 1);
	/* A bound driver owns the BARs: step it aside for this test. */
	snprintf(link, sizeof(link), "%s/driver", self->d.path);
	n = readlink(link, target, sizeof(target) - 1);
	if (n > 0) {
		target[n] = 0;
		snprintf(self->driver, sizeof(self->driver),
			 "/sys/bus/pci/drivers/%s", strrchr(target, '/') + 1);
		snprintf(link, sizeof(link), "%s/unbind", self->driver);
		ASSERT_EQ(0, write_file(link, self->bdf));
	}
	self->was_enabled = read_hex(self->d.path, "enable");
	snprintf(link, sizeof(link), "%s/enable", self->d.path);
	ASSERT_EQ(0, write_file(link, "1"));
	self->mem = map_bar(self->d.path, 2, self->d.size[2]);
	ASSERT_NE(NULL, self->mem);
	self->regs = map_bar(self->d.path, 0, 4096);
	ASSERT_NE(NULL, self->regs);
}

FIXTURE_TEARDOWN(bar)
{
	char path[400];

	/* Leave the device running for the suites after this one. */
	if (self->killed)
		vmctl(NULL, 0, "start-device %d", variant->which);
	if (self->mem) {
		/* No host any more: the device stops serving and beating. */
		dh_store32(&dh_host(self->mem)->magic, 0);
		munmap(self->mem, self->d.size[2]);
	}
	if (self->regs)
		munmap(self->regs, 4096);
	if (self->was_enabled == 0) {
		snprintf(path, sizeof(path), "%s/enable", self->d.path);
		write_file(path, "0");
	}
	if (self->driver[0]) {
		snprintf(path, sizeof(path), "%s/bind", self->driver);
		write_file(path, self->bdf);
	}
}

/*
 * The heartbeat moves while the device runs; after "kill-device" (the
 * runner answers once the process is reaped) it cannot move; after
 * "start-device" it moves again and the new device is LIVE for our
 * epoch (a doorbell device comes back as a new peer with a new ID).
 */
TEST_F_TIMEOUT(bar, heartbeat_follows_kill_and_start, 600)
{
	volatile __u32 *ivposition = (volatile __u32 *)((char *)self->regs + 8);
	struct l3l2q_dir_dev *dev = dh_dev(self->mem);
	__u64 epoch = dh_now_ns() ^ ((__u64)getpid() << 32), hb;
	__u32 host_id = variant->which ? 0 : *ivposition, old_id;
	char why[256];

	dh_format(self->mem, self->d.size[2], epoch, host_id,
		  variant->which ? 0 : 8, HB_MS);
	ASSERT_EQ(0, dh_wait_device(self->mem, epoch, WAIT_MS));
	EXPECT_EQ(variant->which ? 0u : L3L2Q_FEAT_KICKS,
		  dh_load32(&dev->features));
	old_id = dh_load32(&dev->dev_peer_id);
	if (!variant->which) {
		/* QEMU is one ivshmem peer, the device another. */
		EXPECT_GT(65536u, host_id);
		EXPECT_NE(host_id, old_id);
		/* A doorbell write for the device (vector 0: "look again"). */
		*(volatile __u32 *)((char *)self->regs + 12) = old_id << 16;
	}
	hb = dh_load64(&dev->heartbeat);
	ASSERT_EQ(0, dh_wait_beat(self->mem, hb, WAIT_MS));

	ASSERT_EQ(0, vmctl(why, sizeof(why), "kill-device %d", variant->which))
		TH_LOG("%s", why);
	self->killed = 1;
	hb = dh_load64(&dev->heartbeat);
	usleep(10 * HB_MS * 1000);
	EXPECT_EQ(hb, dh_load64(&dev->heartbeat));
	EXPECT_EQ(L3L2Q_DEV_LIVE, dh_load32(&dev->state));

	ASSERT_EQ(0, vmctl(why, sizeof(why), "start-device %d", variant->which))
		TH_LOG("%s", why);
	self->killed = 0;
	EXPECT_EQ(0, dh_wait_beat(self->mem, hb, WAIT_MS));
	EXPECT_EQ(0, dh_wait_device(self->mem, epoch, WAIT_MS));
	if (!variant->which)
		EXPECT_NE(old_id, dh_load32(&dev->dev_peer_id));
}

TEST_HARNESS_MAIN
