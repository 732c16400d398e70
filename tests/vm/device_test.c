// SPDX-License-Identifier: MIT
/*
 * device_test - the ivshmem PCI driver (kmod/l3l2q_pci.c and the
 * l3l2q_dev*.c files) on an ivshmem-plain device, from inside the VM, with
 * an in-guest stand-in for the device (device_helpers.h): probe and
 * remove, the directory as formatted, CREATE on /dev/l3l2q<N>, slots and
 * their reuse, every kind of sleeper woken by the poller, the device's
 * death (heartbeat, DEAD, never live), a device that lets a region go, a
 * device scribbling over its whole memory, and hot-unplug with a sleeper
 * in each mechanism.  devstream_test streams 10^5 messages each way.
 *
 * Errnos and results the driver documents:
 *   CREATE on /dev/l3l2q<N>  ENOSPC  no free slot or no room in the BAR
 *                            E2BIG   larger than max_queue_bytes
 *                            EINVAL  L3L2Q_CREATE_LOOPBACK (the L2 role
 *                                    is the device's), bad geometry
 *                            ENODEV  the device was removed
 *   PEER                     EBUSY   the L2 role is the device's
 *   WAIT, io_uring WAIT      ECONNRESET  the device died or let the
 *                                    region go; ENODEV  it was removed
 *   poll                     EPOLLHUP|EPOLLERR after either
 *   mmap                     ENODEV  after removal; an old mapping's
 *                            next touch is SIGBUS
 *
 * The device is found by its node's debugfs view (nr_vectors 0); the VM
 * must have one (tools/vm/run.sh).  Tests that rebind it, change the
 * heartbeat period or remove it put it back in their teardown.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "device_helpers.h"

#define DEPTH		8ull
#define ARENA		4096ull

/* ---------------------------------------------------------------------- */
/* The fixture: the plain device, its raw memory, maybe a stand-in        */
/* ---------------------------------------------------------------------- */

FIXTURE(plain) {
	struct ivs d;
	void *raw;			/* the whole device memory */
	pid_t standin;
	unsigned long saved_hb;		/* heartbeat_ms before the test */
	int restore;			/* rebind with saved_hb in teardown */
};

static void plain_unmap(FIXTURE_DATA(plain) *self)
{
	if (self->raw != MAP_FAILED)
		munmap(self->raw, self->d.mem_bytes);
	self->raw = MAP_FAILED;
}

/*
 * Bind the device anew (remove and probe: a new directory, a new epoch)
 * and map its memory again; the old mapping was zapped.
 */
static int plain_rebind(FIXTURE_DATA(plain) *self)
{
	char bdf[32];

	scpy(bdf, sizeof(bdf), self->d.bdf);
	plain_unmap(self);
	if (ivs_unbind(&self->d) || ivs_bind(&self->d) ||
	    ivs_wait_bound(&self->d, 0, bdf, 10000))
		return -1;
	self->raw = ivs_map(&self->d);
	return self->raw == MAP_FAILED ? -1 : 0;
}

/* heartbeat_ms for the device from now on (a rebind publishes it). */
static int plain_set_heartbeat(FIXTURE_DATA(plain) *self, unsigned long ms)
{
	if (!self->restore && read_param("heartbeat_ms", &self->saved_hb))
		return -1;
	self->restore = 1;
	if (write_param("heartbeat_ms", ms))
		return -1;
	return plain_rebind(self);
}

static void plain_stop_standin(FIXTURE_DATA(plain) *self)
{
	int status;

	if (self->standin <= 0)
		return;
	kill(self->standin, SIGKILL);
	waitpid(self->standin, &status, 0);
	self->standin = -1;
}

/*
 * The stand-in plays the plain device (VM device 1) here: the host's
 * l3l2q-devsim steps aside for each test (VMCTL kill-device 1) and comes
 * back after it, and each test starts on a freshly formatted directory.
 */
FIXTURE_SETUP(plain)
{
	self->raw = MAP_FAILED;
	self->standin = -1;
	self->restore = 0;
	if (ivs_find(&self->d, 0, NULL)) {
		/* A test that removed it may have failed before its rescan. */
		pci_rescan();
		sleep_ms(500);
	}
	ASSERT_EQ(0, ivs_find(&self->d, 0, NULL))
		TH_LOG("no ivshmem-plain device bound to l3l2q: does the VM have one (tools/vm/run.sh)?");
	vmctl(NULL, 0, "kill-device 1");
	ASSERT_EQ(0, plain_rebind(self));
}

FIXTURE_TEARDOWN(plain)
{
	char bdf[32];

	plain_stop_standin(self);
	plain_unmap(self);
	scpy(bdf, sizeof(bdf), self->d.bdf);
	if (access(self->d.node, F_OK)) {
		pci_rescan();
		ivs_wait_bound(&self->d, 0, bdf, 10000);
	}
	if (self->restore)
		write_param("heartbeat_ms", self->saved_hb);
	/* A clean directory, then the host's device again. */
	ivs_unbind(&self->d);
	ivs_bind(&self->d);
	ivs_wait_bound(&self->d, 0, bdf, 10000);
	vmctl(NULL, 0, "start-device 1");
}

/* Start a stand-in that beats and serves; waits until the host sees it. */
static int plain_standin(FIXTURE_DATA(plain) *self, unsigned int dead_usr1,
			 unsigned int hold)
{
	struct standin_opts o = {
		.peer_id = 7, .beat = 1, .serve = 1,
		.dead_on_usr1 = dead_usr1, .hold_closed = hold,
	};

	self->standin = standin_start_live(&self->d, &o);
	return self->standin < 0 ? -1 : 0;
}

/* One message through @q and back, checked; 0 or the failing -errno. */
static int roundtrip(struct dq *q, __u64 i)
{
	unsigned char in[512], out[512];
	struct l3l2q_msg msg;
	__u64 n = msg_len(i, sizeof(in)), k;
	int ret;

	for (k = 0; k < n; k++)
		in[k] = msg_byte(i, k);
	ret = l3l2q_l3_enqueue(&q->l3, L3L2Q_OP_DATA, in, n,
			       l3l2q_deadline_in(60 * SEC));
	if (ret)
		return ret;
	ret = l3l2q_l3_dequeue(&q->l3, out, sizeof(out),
			       l3l2q_deadline_in(60 * SEC), &msg);
	if (ret)
		return ret;
	if (msg.nbytes != n || msg.opcode != L3L2Q_OP_DATA)
		return -EBADMSG;
	for (k = 0; k < n; k++)
		if (out[k] != (in[k] ^ STANDIN_XOR))
			return -EBADMSG;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Probe and the directory                                                */
/* ---------------------------------------------------------------------- */

/*
 * A fresh bind formats the directory: magic, version, the host's
 * parameters as debugfs reports them, a new epoch, every slot FREE.
 */
TEST_F(plain, directory_formatted)
{
	struct l3l2q_dir_host *h;
	long long old_epoch = ivs_num(&self->d, "epoch");
	unsigned int i;

	ASSERT_EQ(0, plain_rebind(self));
	h = dir_host(self->raw);
	EXPECT_EQ(L3L2Q_DIR_MAGIC, ld32(&h->magic));
	EXPECT_EQ(L3L2Q_DIR_VERSION, h->version);
	EXPECT_EQ(self->d.mem_bytes, h->mem_bytes);
	EXPECT_EQ((__u64)ivs_num(&self->d, "epoch"), h->epoch);
	EXPECT_NE(0ull, h->epoch);
	EXPECT_NE((__u64)old_epoch, h->epoch);
	EXPECT_EQ(L3L2Q_DIR_SLOTS, h->nr_slots);
	/* ivshmem-plain: IVPosition 0, no MSI-X. */
	EXPECT_EQ(0u, h->host_peer_id);
	EXPECT_EQ(0u, h->nr_vectors);
	EXPECT_EQ((__u32)ivs_num(&self->d, "heartbeat_ms"), h->heartbeat_ms);
	EXPECT_EQ(0ull, h->resv[0] | h->resv[1] | h->resv[2]);
	for (i = 0; i < L3L2Q_DIR_SLOTS; i++)
		EXPECT_EQ(L3L2Q_SLOT_FREE, ld32(&dir_slot(self->raw, i)->state));
	EXPECT_EQ(0, ivs_num(&self->d, "slots_used"));
	/* The node is the device's own, root only. */
	EXPECT_EQ(0, access(self->d.node, R_OK | W_OK));
}

/* Removal and a rescan: the node and debugfs go and come back. */
TEST_F(plain, remove_and_rescan)
{
	long long old_epoch = ivs_num(&self->d, "epoch");
	char bdf[32], node[64];

	scpy(bdf, sizeof(bdf), self->d.bdf);
	scpy(node, sizeof(node), self->d.node);
	plain_unmap(self);
	ASSERT_EQ(0, ivs_remove(&self->d));
	EXPECT_NE(0, access(node, F_OK));
	EXPECT_NE(0, access(self->d.dbg, F_OK));
	ASSERT_EQ(0, pci_rescan());
	ASSERT_EQ(0, ivs_wait_bound(&self->d, 0, bdf, 10000));
	EXPECT_NE(old_epoch, ivs_num(&self->d, "epoch"));
	self->raw = ivs_map(&self->d);
	ASSERT_NE(MAP_FAILED, self->raw);
	EXPECT_EQ(L3L2Q_DIR_MAGIC, ld32(&dir_host(self->raw)->magic));
	EXPECT_EQ((__u64)ivs_num(&self->d, "epoch"), dir_host(self->raw)->epoch);
}

/* ---------------------------------------------------------------------- */
/* CREATE on the device node                                              */
/* ---------------------------------------------------------------------- */

TEST_F(plain, create_publishes_slot)
{
	struct l3l2q_peer_args p;
	struct l3l2q_info_args info;
	struct l3l2q_dir_slot *s;
	struct dq q;
	char *region;
	int slot;

	ASSERT_EQ(0, plain_rebind(self));
	ASSERT_EQ(0, dq_create(&q, self->d.node, DEPTH, ARENA, 2 * ARENA));
	EXPECT_EQ(1, ivs_num(&self->d, "slots_used"));
	for (slot = 0; slot < (int)L3L2Q_DIR_SLOTS; slot++)
		if (ld32(&dir_slot(self->raw, slot)->state) == L3L2Q_SLOT_LIVE)
			break;
	ASSERT_LT(slot, (int)L3L2Q_DIR_SLOTS);
	s = dir_slot(self->raw, slot);
	EXPECT_EQ(L3L2Q_KIND_QUEUE, s->kind);
	EXPECT_LE(1u, s->generation);
	EXPECT_EQ(0u, s->vector);
	EXPECT_EQ(0ull, s->region_offset % 4096);
	EXPECT_LE((__u64)L3L2Q_DIR_BYTES, s->region_offset);
	EXPECT_GE(self->d.mem_bytes, s->region_offset + s->region_bytes);
	EXPECT_EQ(q.args.off.total_bytes, s->region_bytes);
	EXPECT_EQ(DEPTH, s->depth);
	EXPECT_EQ(ARENA, s->input_arena_bytes);
	EXPECT_EQ(2 * ARENA, s->output_arena_bytes);
	EXPECT_EQ(0ull, s->start_pos);

	/*
	 * The region is there, formatted; L3 LIVE, and L2 ABSENT until the
	 * device claims it (to the kernel the role is the device's already).
	 */
	region = (char *)self->raw + s->region_offset;
	EXPECT_EQ(L3L2Q_CTRL_MAGIC, *(__u32 *)region);
	EXPECT_EQ(L3L2Q_ROLE_LIVE, dq_ctrl(&q, L3L2Q_CTRL_L3_STATE));
	EXPECT_EQ(L3L2Q_ROLE_ABSENT, dq_ctrl(&q, L3L2Q_CTRL_L2_STATE));
	/* One memory: what L3 writes the device reads, and back. */
	((volatile char *)q.mem.payload)[100] = 0x3c;
	EXPECT_EQ(0x3c, region[q.args.off.payload_offset + 100]);
	region[q.args.off.payload_offset + 200] = 0x4d;
	EXPECT_EQ(0x4d, ((volatile char *)q.mem.payload)[200]);

	/* The L2 role is the device's. */
	memset(&p, 0, sizeof(p));
	errno = 0;
	EXPECT_EQ(-1, ioctl(q.fd, L3L2Q_IOC_PEER, &p));
	EXPECT_EQ(EBUSY, errno);
	memset(&info, 0, sizeof(info));
	ASSERT_EQ(0, ioctl(q.fd, L3L2Q_IOC_INFO, &info));
	EXPECT_EQ(0u, info.role);
	EXPECT_EQ(DEPTH, info.depth);
	EXPECT_EQ(q.args.off.total_bytes, info.off.total_bytes);
	/* KICK with no device to ring is no error. */
	EXPECT_EQ(0, ioctl(q.fd, L3L2Q_IOC_KICK));

	/* Closed, and no device serves this epoch: FREE at once. */
	dq_destroy(&q);
	EXPECT_EQ(L3L2Q_SLOT_FREE, ld32(&s->state));
	EXPECT_EQ(0, ivs_num(&self->d, "slots_used"));
}

TEST_F(plain, create_refusals_and_limits)
{
	static struct dq qs[L3L2Q_DIR_SLOTS + 1];
	struct l3l2q_create_args a;
	unsigned int i, made = 0;
	struct dq q;
	void *m;
	int dev;

	ASSERT_EQ(0, plain_rebind(self));
	dev = open(self->d.node, O_RDWR | O_CLOEXEC);
	ASSERT_GE(dev, 0);
	memset(&a, 0, sizeof(a));
	a.depth = DEPTH;
	a.input_arena_bytes = ARENA;
	a.output_arena_bytes = ARENA;
	a.flags = L3L2Q_CREATE_LOOPBACK;
	errno = 0;
	EXPECT_EQ(-1, ioctl(dev, L3L2Q_IOC_CREATE, &a));
	EXPECT_EQ(EINVAL, errno);
	a.flags = 0;
	a.depth = 3;
	errno = 0;
	EXPECT_EQ(-1, ioctl(dev, L3L2Q_IOC_CREATE, &a));
	EXPECT_EQ(EINVAL, errno);
	/* Larger than the device memory, within max_queue_bytes. */
	a.depth = DEPTH;
	a.input_arena_bytes = self->d.mem_bytes;
	errno = 0;
	EXPECT_EQ(-1, ioctl(dev, L3L2Q_IOC_CREATE, &a));
	EXPECT_EQ(ENOSPC, errno);
	/* Larger than max_queue_bytes (64 MiB). */
	a.input_arena_bytes = 128ull << 20;
	errno = 0;
	EXPECT_EQ(-1, ioctl(dev, L3L2Q_IOC_CREATE, &a));
	EXPECT_EQ(E2BIG, errno);
	/* A device fd is no region's capability. */
	errno = 0;
	EXPECT_EQ(-1, ioctl(dev, L3L2Q_IOC_KICK));
	EXPECT_EQ(EPERM, errno);
	close(dev);

	/* Every slot, then ENOSPC; a closed one is free again. */
	for (i = 0; i < L3L2Q_DIR_SLOTS; i++) {
		if (dq_create(&qs[i], self->d.node, DEPTH, ARENA, ARENA))
			break;
		made++;
	}
	EXPECT_EQ(L3L2Q_DIR_SLOTS, made);
	EXPECT_EQ(-ENOSPC, dq_create(&q, self->d.node, DEPTH, ARENA, ARENA));
	dq_destroy(&q);
	if (made) {
		dq_destroy(&qs[made - 1]);
		ASSERT_EQ(0, dq_create(&qs[made - 1], self->d.node, DEPTH,
				       ARENA, ARENA));
	}

	/* The mapping rules of /dev/l3l2q hold here too. */
	errno = 0;
	m = mmap(NULL, qs[0].args.off.total_bytes, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE, qs[0].fd, 0);
	EXPECT_EQ(MAP_FAILED, m);
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	m = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_SHARED, qs[0].fd, 0);
	EXPECT_EQ(MAP_FAILED, m);
	EXPECT_EQ(EPERM, errno);
	errno = 0;
	m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, qs[0].fd,
		 qs[0].args.off.total_bytes);
	EXPECT_EQ(MAP_FAILED, m);
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, mprotect(qs[0].map, 4096, PROT_READ | PROT_EXEC));
	EXPECT_EQ(EACCES, errno);
	errno = 0;
	EXPECT_EQ(-1, munmap(qs[0].map, 4096));
	EXPECT_EQ(EINVAL, errno);

	for (i = 0; i < made; i++)
		dq_destroy(&qs[i]);
	EXPECT_EQ(0, ivs_num(&self->d, "slots_used"));
}

/*
 * A CLOSED slot keeps its memory while the device still holds the region
 * (its L2 state word LIVE); it is reused once the device lets go.
 */
TEST_F(plain, closed_slot_waits_for_device)
{
	struct dq a, b;
	__u64 off_a;
	int slot, i;

	ASSERT_EQ(0, plain_rebind(self));
	ASSERT_EQ(0, plain_standin(self, 0, 1));
	ASSERT_EQ(0, dq_create(&a, self->d.node, DEPTH, ARENA, ARENA));
	ASSERT_EQ(0, roundtrip(&a, 1));	/* the device holds it now */
	EXPECT_EQ(L3L2Q_ROLE_LIVE, dq_ctrl(&a, L3L2Q_CTRL_L2_STATE));
	slot = -1;
	for (i = 0; i < (int)L3L2Q_DIR_SLOTS; i++)
		if (ld32(&dir_slot(self->raw, i)->state) == L3L2Q_SLOT_LIVE)
			slot = i;
	ASSERT_GE(slot, 0);
	off_a = dir_slot(self->raw, slot)->region_offset;
	dq_destroy(&a);

	EXPECT_EQ(L3L2Q_SLOT_CLOSED, ld32(&dir_slot(self->raw, slot)->state));
	/* A new region gets other memory. */
	ASSERT_EQ(0, dq_create(&b, self->d.node, DEPTH, ARENA, ARENA));
	EXPECT_EQ(slot, dir_find_slot(self->raw, off_a));
	/* Two heartbeat checks later it is still held. */
	sleep_ms(2 * (unsigned int)ivs_num(&self->d, "heartbeat_ms") + 100);
	EXPECT_EQ(L3L2Q_SLOT_CLOSED, ld32(&dir_slot(self->raw, slot)->state));
	EXPECT_EQ(off_a, dir_slot(self->raw, slot)->region_offset);
	for (i = 0; i < (int)L3L2Q_DIR_SLOTS; i++)
		if (i != slot &&
		    ld32(&dir_slot(self->raw, i)->state) == L3L2Q_SLOT_LIVE)
			EXPECT_NE(off_a, dir_slot(self->raw, i)->region_offset);

	/* The device lets go: the slot is reclaimed at a later check. */
	kill(self->standin, SIGUSR2);
	for (i = 0; i < 30000; i += 10) {
		if (ld32(&dir_slot(self->raw, slot)->state) == L3L2Q_SLOT_FREE)
			break;
		sleep_ms(10);
	}
	EXPECT_EQ(L3L2Q_SLOT_FREE, ld32(&dir_slot(self->raw, slot)->state));
	EXPECT_LE(1, ivs_num(&self->d, "reclaimed"));
	dq_destroy(&b);
}

/* ---------------------------------------------------------------------- */
/* Traffic through the poller                                             */
/* ---------------------------------------------------------------------- */


/*
 * Each kind of sleeper, registered before its input goes out, is woken
 * for the answer of a device that never kicks: by the poller, which
 * debugfs counts.
 */
TEST_F_TIMEOUT(plain, poller_wakes_each_sleeper, 300)
{
	unsigned char buf[64];
	struct armed_sleeper a;
	struct io_uring ring;
	const char *why;
	long long wakes;
	struct dq q;
	int via, res;
	__s32 seen;

	ASSERT_EQ(0, plain_standin(self, 0, 0));
	ASSERT_EQ(0, dq_create(&q, self->d.node, DEPTH, ARENA, ARENA));
	ASSERT_EQ(0, roundtrip(&q, 3));
	ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
	for (via = 0; via < VIA_COUNT; via++) {
		wakes = dbg_num(q.id, "poller_wakes");
		seen = dq_ctr(&q, L3L2Q_CTR_OUTPUT_TAIL);
		why = sleeper_arm(&a, via, q.fd, seen, &ring);
		ASSERT_EQ(NULL, why) TH_LOG("%s: %s", via_str(via), why);
		memset(buf, via, sizeof(buf));
		ASSERT_EQ(0, l3l2q_l3_try_enqueue(&q.l3, L3L2Q_OP_DATA, buf,
						  sizeof(buf)));
		why = sleeper_woken(&a);
		EXPECT_EQ(NULL, why) TH_LOG("%s: %s", via_str(via), why);
		EXPECT_NE(seen, dq_ctr(&q, L3L2Q_CTR_OUTPUT_TAIL))
			TH_LOG("%s woke without an answer", via_str(via));
		EXPECT_LT(wakes, dbg_num(q.id, "poller_wakes"))
			TH_LOG("%s was not woken by the poller", via_str(via));
		ASSERT_EQ(0, l3l2q_l3_dequeue(&q.l3, buf, sizeof(buf),
					      l3l2q_deadline_in(60 * SEC),
					      NULL));
		EXPECT_EQ(via ^ STANDIN_XOR, buf[0]);
	}
	/* Nobody waits: the poller stops. */
	for (res = 0; res < 10000; res += 10) {
		char st[16];

		if (!dbg_str(q.id, "poller", st, sizeof(st)) &&
		    !strcmp(st, "idle"))
			break;
		sleep_ms(10);
	}
	EXPECT_LT(res, 10000);
	io_uring_queue_exit(&ring);
	dq_destroy(&q);
}

/* ---------------------------------------------------------------------- */
/* The device's death                                                     */
/* ---------------------------------------------------------------------- */

/* The rest of a debugfs line ("death: its heartbeat stopped"). */
static void ivs_line(const struct ivs *d, const char *key, char *out,
		     size_t len)
{
	char path[160], line[256];
	size_t klen = strlen(key);
	FILE *f;

	*out = 0;
	snprintf(path, sizeof(path), "%s/state", d->dbg);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			scpy(out, len, line + klen + 2);
			out[strcspn(out, "\n")] = 0;
			break;
		}
	fclose(f);
}

/*
 * A killed device stops beating: after L3L2Q_DIR_DEAD_BEATS checks without
 * a beat the host declares it dead, and a sleeper wakes with ECONNRESET.
 * The bound is heartbeat_ms * (DEAD_BEATS + 1): logged, and the check
 * count asserted (the clock of a TCG guest proves nothing).
 */
TEST_F_TIMEOUT(plain, death_by_silence, 120)
{
	char why[64];
	long long deaths;
	__u64 t0, t1;
	struct dq q;
	int status;

	ASSERT_EQ(0, plain_set_heartbeat(self, 100));
	EXPECT_EQ(100u, dir_host(self->raw)->heartbeat_ms);
	ASSERT_EQ(0, plain_standin(self, 0, 0));
	ASSERT_EQ(0, dq_create(&q, self->d.node, DEPTH, ARENA, ARENA));
	ASSERT_EQ(0, roundtrip(&q, 5));
	deaths = ivs_num(&self->d, "deaths");

	t0 = l3l2q_now_ns();
	kill(self->standin, SIGKILL);
	waitpid(self->standin, &status, 0);
	self->standin = -1;
	EXPECT_EQ(-ECONNRESET, vm_wait(q.fd, L3L2Q_CTR_OUTPUT_TAIL,
				       dq_ctr(&q, L3L2Q_CTR_OUTPUT_TAIL),
				       l3l2q_now_ns() + 60 * SEC));
	t1 = l3l2q_now_ns();
	TH_LOG("told %llu ms after the kill (bound: %u ms after the last beat, plus the check's delay)",
	       (t1 - t0) / MS, 100 * (L3L2Q_DIR_DEAD_BEATS + 1));
	EXPECT_EQ(deaths + 1, ivs_num(&self->d, "deaths"));
	EXPECT_EQ(L3L2Q_DIR_DEAD_BEATS, ivs_num(&self->d, "dead_after"));
	ivs_line(&self->d, "death", why, sizeof(why));
	EXPECT_STREQ("its heartbeat stopped", why);
	EXPECT_EQ(0, ivs_num(&self->d, "live"));
	/* The host marked the L2 role for the device that cannot. */
	EXPECT_EQ(L3L2Q_ROLE_DEAD, dq_ctrl(&q, L3L2Q_CTRL_L2_STATE));
	EXPECT_EQ(1, dq_ctr(&q, L3L2Q_CTR_L2_ABORT));
	EXPECT_EQ(-ECONNRESET, roundtrip(&q, 6));
	dq_destroy(&q);
}

/* A device that stores DEAD is dead at the next check. */
TEST_F_TIMEOUT(plain, death_stored_dead, 120)
{
	char why[64];
	struct dq q, q2;
	int status;

	ASSERT_EQ(0, plain_standin(self, 1, 0));
	ASSERT_EQ(0, dq_create(&q, self->d.node, DEPTH, ARENA, ARENA));
	ASSERT_EQ(0, roundtrip(&q, 7));
	kill(self->standin, SIGUSR1);
	waitpid(self->standin, &status, 0);
	self->standin = -1;
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	EXPECT_EQ(-ECONNRESET, vm_wait(q.fd, L3L2Q_CTR_OUTPUT_TAIL,
				       dq_ctr(&q, L3L2Q_CTR_OUTPUT_TAIL),
				       l3l2q_now_ns() + 60 * SEC));
	ivs_line(&self->d, "death", why, sizeof(why));
	EXPECT_STREQ("it stored DEAD", why);
	/* While the line says DEAD, a new region's L2 dies too. */
	ASSERT_EQ(0, dq_create(&q2, self->d.node, DEPTH, ARENA, ARENA));
	EXPECT_EQ(-ECONNRESET, vm_wait(q2.fd, L3L2Q_CTR_OUTPUT_TAIL,
				       dq_ctr(&q2, L3L2Q_CTR_OUTPUT_TAIL),
				       l3l2q_now_ns() + 60 * SEC));
	dq_destroy(&q2);
	dq_destroy(&q);
}

/*
 * A device that was never seen live is not dead: its regions wait for it,
 * through many heartbeat periods, and a line without a beat changes
 * nothing.
 */
TEST_F_TIMEOUT(plain, never_live_is_not_dead, 120)
{
	struct standin_opts o = { .peer_id = 7, .beat = 0, .serve = 0 };
	long long deaths;
	struct dq q;

	ASSERT_EQ(0, plain_set_heartbeat(self, 100));
	deaths = ivs_num(&self->d, "deaths");
	ASSERT_EQ(0, dq_create(&q, self->d.node, DEPTH, ARENA, ARENA));
	EXPECT_EQ(-ETIMEDOUT, vm_wait(q.fd, L3L2Q_CTR_OUTPUT_TAIL,
				      dq_ctr(&q, L3L2Q_CTR_OUTPUT_TAIL),
				      l3l2q_now_ns() + 3 * SEC));
	self->standin = standin_start(&self->d, &o);
	ASSERT_GT(self->standin, 0);
	EXPECT_EQ(-ETIMEDOUT, vm_wait(q.fd, L3L2Q_CTR_OUTPUT_TAIL,
				      dq_ctr(&q, L3L2Q_CTR_OUTPUT_TAIL),
				      l3l2q_now_ns() + 3 * SEC));
	EXPECT_EQ(deaths, ivs_num(&self->d, "deaths"));
	EXPECT_EQ(0, ivs_num(&self->d, "live"));
	EXPECT_EQ(L3L2Q_ROLE_ABSENT, dq_ctrl(&q, L3L2Q_CTRL_L2_STATE));
	dq_destroy(&q);
}

/*
 * The device lets a region go (its L2 state word DEAD): the L2 role dies
 * without the host raising its abort flag, and the slot is reused.
 */
TEST_F_TIMEOUT(plain, device_lets_go, 120)
{
	struct dq q;

	ASSERT_EQ(0, plain_standin(self, 0, 0));
	ASSERT_EQ(0, dq_create(&q, self->d.node, DEPTH, ARENA, ARENA));
	ASSERT_EQ(0, roundtrip(&q, 9));
	kill(self->standin, SIGUSR2);
	EXPECT_EQ(-ECONNRESET, vm_wait(q.fd, L3L2Q_CTR_OUTPUT_TAIL,
				       dq_ctr(&q, L3L2Q_CTR_OUTPUT_TAIL),
				       l3l2q_now_ns() + 60 * SEC));
	EXPECT_LE(1, ivs_num(&self->d, "letgo"));
	EXPECT_EQ(0, dq_ctr(&q, L3L2Q_CTR_L2_ABORT));
	EXPECT_EQ(1, ivs_num(&self->d, "live"));
	dq_destroy(&q);
	EXPECT_EQ(0, ivs_num(&self->d, "slots_used"));
}

/* ---------------------------------------------------------------------- */
/* A device scribbling over its whole memory                              */
/* ---------------------------------------------------------------------- */

static __u64 xorshift(__u64 *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * The scribbler: @rounds times, random words at random places all over
 * the memory, the directory and the regions' first pages with every
 * byte, and every other round a valid device line with a moving beat so
 * the host keeps looking at the regions of a live device.
 */
static void scribble(const struct ivs *d, __u64 seed, unsigned int rounds)
{
	struct l3l2q_dir_dev *dev;
	__u64 *w, nw, epoch, i;
	unsigned int r, j;
	void *m;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	m = ivs_map(d);
	if (m == MAP_FAILED)
		_exit(2);
	w = m;
	nw = d->mem_bytes / 8;
	epoch = dir_host(m)->epoch;
	dev = dir_dev(m);
	for (r = 0; r < rounds; r++) {
		for (i = 0; i < 4096; i++)
			w[xorshift(&seed) % nw] = xorshift(&seed);
		for (i = 0; i < L3L2Q_DIR_BYTES / 8; i++)
			w[i] = xorshift(&seed);
		for (j = 0; j < L3L2Q_DIR_SLOTS; j++) {
			__u64 off = dir_slot(m, j)->region_offset;

			if (off % 4096 || off > d->mem_bytes - 3 * 4096)
				off = (xorshift(&seed) % (nw / 512 - 3)) * 4096;
			for (i = 0; i < 3 * 4096 / 8; i++)
				w[off / 8 + i] = xorshift(&seed);
		}
		if (r % 2) {
			dev->epoch = epoch;
			dev->magic = L3L2Q_DIR_DEV_MAGIC;
			dev->heartbeat = r;
			st32(&dev->state, L3L2Q_DEV_LIVE);
		}
		sched_yield();
	}
	_exit(0);
}

/* One call's result must be one the driver or the core documents. */
#define EXPECT_ONE_OF(ret, ...)						\
	do {								\
		static const int ok_[] = { __VA_ARGS__ };		\
		int r_ = (ret), found_ = 0;				\
		unsigned int i_;					\
		for (i_ = 0; i_ < sizeof(ok_) / sizeof(ok_[0]); i_++)	\
			found_ |= r_ == ok_[i_];			\
		EXPECT_TRUE(found_) TH_LOG("%s gave %d", #ret, r_);	\
	} while (0)

TEST_F_TIMEOUT(plain, device_scribbles_everything, 300)
{
	struct l3l2q_info_args info;
	unsigned char buf[256];
	struct dq q[4];
	unsigned int i, round;
	pid_t pid;
	int status, ret;

	ASSERT_EQ(0, plain_standin(self, 0, 0));
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, dq_create(&q[i], self->d.node, DEPTH, ARENA, ARENA));
		ASSERT_EQ(0, roundtrip(&q[i], i));
	}
	plain_stop_standin(self);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		scribble(&self->d, 0x9e3779b97f4a7c15ull, 3000);

	/* The host side goes on calling everything meanwhile. */
	for (round = 0; waitpid(pid, &status, WNOHANG) == 0; round++) {
		struct dq extra;

		for (i = 0; i < 4; i++) {
			memset(buf, (int)round, sizeof(buf));
			EXPECT_ONE_OF(l3l2q_l3_try_enqueue(&q[i].l3, L3L2Q_OP_DATA,
							   buf, round % 256),
				      0, -EAGAIN, -EPROTO, -ECONNRESET, -EPIPE);
			EXPECT_ONE_OF(l3l2q_l3_try_dequeue(&q[i].l3, buf,
							   sizeof(buf), NULL),
				      0, -EAGAIN, -EPROTO, -ECONNRESET,
				      -EMSGSIZE);
			EXPECT_ONE_OF(vm_wait(q[i].fd, L3L2Q_CTR_OUTPUT_TAIL,
					      (__s32)round,
					      l3l2q_now_ns() + 2 * MS),
				      0, -ETIMEDOUT, -ECONNRESET, -EINTR);
			EXPECT_EQ(0, ioctl(q[i].fd, L3L2Q_IOC_KICK));
			memset(&info, 0, sizeof(info));
			EXPECT_EQ(0, ioctl(q[i].fd, L3L2Q_IOC_INFO, &info));
			EXPECT_EQ(DEPTH, info.depth);
			(void)poll(&(struct pollfd){ .fd = q[i].fd,
						     .events = POLLIN }, 1, 0);
		}
		ret = dq_create(&extra, self->d.node, DEPTH, ARENA, ARENA);
		EXPECT_ONE_OF(ret, 0, -ENOSPC, -EINVAL, -EPROTO);
		dq_destroy(&extra);
	}
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("the scribbler ended with status %#x", status);
	TH_LOG("%u rounds of calls while the device scribbled", round);
	for (i = 0; i < 4; i++)
		dq_destroy(&q[i]);
	/* A clean directory for whoever comes next. */
	ASSERT_EQ(0, plain_rebind(self));
	EXPECT_EQ(0, ivs_num(&self->d, "slots_used"));
}

/* ---------------------------------------------------------------------- */
/* Hot-unplug                                                             */
/* ---------------------------------------------------------------------- */

/*
 * The device goes (the PCI remove file: what a hot-unplug does to the
 * guest) while a sleeper waits in each mechanism: every one wakes, later
 * calls fail with ENODEV, the old mappings give SIGBUS, nothing crashes.
 */
TEST_F_TIMEOUT(plain, hot_unplug_wakes_every_sleeper, 300)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct sleeper sl[3];
	struct pollfd pfd;
	struct l3l2q_info_args info;
	struct l3l2q_create_args a;
	struct io_uring ring;
	pthread_t th[3];
	char st[16];
	int i, res, dev, status;
	struct dq q;
	void *m;

	ASSERT_EQ(0, plain_standin(self, 0, 0));
	ASSERT_EQ(0, dq_create(&q, self->d.node, DEPTH, ARENA, ARENA));
	ASSERT_EQ(0, roundtrip(&q, 11));
	dev = open(self->d.node, O_RDWR | O_CLOEXEC);
	ASSERT_GE(dev, 0);
	ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
	ASSERT_EQ(1, vm_submit_wait(&ring, q.fd, L3L2Q_CTR_OUTPUT_TAIL,
				  dq_ctr(&q, L3L2Q_CTR_OUTPUT_TAIL),
				  l3l2q_now_ns() + 120 * SEC, 1));
	for (i = 0; i < 3; i++) {
		memset(&sl[i], 0, sizeof(sl[i]));
		sl[i].fd = q.fd;
		sl[i].via = i;
		sl[i].seen = dq_ctr(&q, L3L2Q_CTR_OUTPUT_TAIL);
		sl[i].efd = sl[i].ep = -1;
	}
	sl[VIA_EPOLL].ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_GE(sl[VIA_EPOLL].ep, 0);
	ASSERT_EQ(0, epoll_ctl(sl[VIA_EPOLL].ep, EPOLL_CTL_ADD, q.fd, &ev));
	sl[VIA_EVENTFD].efd = eventfd(0, EFD_CLOEXEC);
	ASSERT_GE(sl[VIA_EVENTFD].efd, 0);
	ASSERT_EQ(0, set_eventfd(q.fd, sl[VIA_EVENTFD].efd));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, sleeper_fn, &sl[i]));
	for (i = 0; i < 3; i++) {
		while (!__atomic_load_n(&sl[i].tid, __ATOMIC_ACQUIRE))
			sleep_ms(1);
		ASSERT_TRUE(vm_wait_blocked(sl[i].tid, i == VIA_WAIT ? SYS_ioctl :
					 i == VIA_EPOLL ? SYS_epoll_wait :
					 SYS_read));
	}

	plain_unmap(self);
	ASSERT_EQ(0, ivs_remove(&self->d));
	for (i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	EXPECT_EQ(-ENODEV, sl[VIA_WAIT].res);
	EXPECT_EQ(EPOLLHUP | EPOLLERR,
		  sl[VIA_EPOLL].res & (EPOLLHUP | EPOLLERR));
	EXPECT_LE(1, sl[VIA_EVENTFD].res);
	ASSERT_EQ(0, get_cqe(&ring, 60000, &res));
	EXPECT_EQ(-ENODEV, res);

	/* Later calls fail cleanly. */
	EXPECT_EQ(-ENODEV, vm_wait(q.fd, L3L2Q_CTR_OUTPUT_TAIL, 0, FOREVER));
	EXPECT_EQ(1, vm_submit_wait(&ring, q.fd, L3L2Q_CTR_OUTPUT_TAIL, 0,
				  FOREVER, 2));
	ASSERT_EQ(0, get_cqe(&ring, 60000, &res));
	EXPECT_EQ(-ENODEV, res);
	EXPECT_EQ(0, ioctl(q.fd, L3L2Q_IOC_KICK));
	memset(&info, 0, sizeof(info));
	EXPECT_EQ(0, ioctl(q.fd, L3L2Q_IOC_INFO, &info));
	EXPECT_EQ(DEPTH, info.depth);
	pfd.fd = q.fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	EXPECT_EQ(1, poll(&pfd, 1, 0));
	EXPECT_EQ(POLLHUP | POLLERR, pfd.revents & (POLLHUP | POLLERR));
	errno = 0;
	m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, q.fd, 0);
	EXPECT_EQ(MAP_FAILED, m);
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(SIGBUS, touch_sig(q.map));
	memset(&a, 0, sizeof(a));
	a.depth = DEPTH;
	a.input_arena_bytes = ARENA;
	a.output_arena_bytes = ARENA;
	errno = 0;
	EXPECT_EQ(-1, ioctl(dev, L3L2Q_IOC_CREATE, &a));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_NE(0, access(self->d.node, F_OK));
	EXPECT_EQ(0, dbg_str(q.id, "memory", st, sizeof(st)));
	EXPECT_STREQ("gone", st);
	/* The stand-in's touch of its mapping killed it. */
	ASSERT_EQ(self->standin, waitpid(self->standin, &status, 0));
	self->standin = -1;
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS);

	close(dev);
	close(sl[VIA_EPOLL].ep);
	close(sl[VIA_EVENTFD].efd);
	io_uring_queue_exit(&ring);
	dq_destroy(&q);
	/* The teardown rescans. */
}

/* ---------------------------------------------------------------------- */
/* ivshmem-doorbell, with l3l2q-devsim as the device on the host          */
/* ---------------------------------------------------------------------- */

FIXTURE(bell) {
	struct ivs d;
	int restart;			/* start-device 0 in teardown */
};

static int bell_wait_live(const struct ivs *d)
{
	unsigned int i;

	for (i = 0; i < 120000; i += 10) {
		if (ivs_num(d, "live") == 1)
			return 0;
		sleep_ms(10);
	}
	return -1;
}

FIXTURE_SETUP(bell)
{
	self->restart = 0;
	ASSERT_EQ(0, ivs_find(&self->d, 1, NULL))
		TH_LOG("no ivshmem-doorbell device bound to l3l2q: does the VM have one (tools/vm/run.sh)?");
	ASSERT_EQ(0, bell_wait_live(&self->d)) TH_LOG("the device never beat");
}

FIXTURE_TEARDOWN(bell)
{
	char bdf[32];

	if (!self->restart)
		return;
	scpy(bdf, sizeof(bdf), self->d.bdf);
	vmctl(NULL, 0, "start-device 0");
	ivs_wait_bound(&self->d, 1, bdf, 10000);
	bell_wait_live(&self->d);
}

/* One task through the device and back, its result checked. */
static int task_roundtrip(struct dq *q, __u64 id)
{
	unsigned char out[L3L2Q_TASK_HDR_BYTES + TASK_MAX];
	struct l3l2q_msg msg;
	const char *why;
	__u64 t;
	int ret;

	for (t = 0; (ret = task_try_put(q, id)) == -EAGAIN && t < 60000; t++)
		sleep_ms(1);
	if (ret)
		return ret;
	ret = l3l2q_l3_dequeue(&q->l3, out, sizeof(out),
			       l3l2q_deadline_in(60 * SEC), &msg);
	if (ret)
		return ret;
	return task_check(out, msg.nbytes, msg.opcode, &why) == (long long)id ?
	       0 : -EBADMSG;
}

/*
 * The directory of a doorbell device: the host's peer id (IVPosition), its
 * MSI-X vectors, and the device's line naming another peer id, announcing
 * kicks and serving this epoch.
 */
TEST_F(bell, directory_and_device_line)
{
	struct l3l2q_dir_host *h;
	void *raw = ivs_map(&self->d);

	ASSERT_NE(MAP_FAILED, raw);
	h = dir_host(raw);
	EXPECT_EQ(L3L2Q_DIR_MAGIC, ld32(&h->magic));
	EXPECT_EQ((__u32)ivs_num(&self->d, "host_peer_id"), h->host_peer_id);
	EXPECT_EQ(self->d.nr_vectors, h->nr_vectors);
	EXPECT_LE(2u, h->nr_vectors);
	EXPECT_EQ(1, ivs_num(&self->d, "dev_serving"));
	EXPECT_NE(ivs_num(&self->d, "host_peer_id"),
		  ivs_num(&self->d, "dev_peer_id"));
	EXPECT_EQ(L3L2Q_FEAT_KICKS,
		  ivs_num(&self->d, "dev_features") & L3L2Q_FEAT_KICKS);
	munmap(raw, self->d.mem_bytes);
}

/*
 * Doorbell: with the device asleep (its wake word armed for input), the
 * L3's publish kicks and KICK rings the doorbell.  MSI-X: the device's
 * answer interrupts the host and wakes each kind of sleeper - never the
 * poller, which does not run for a device that kicks.
 */
TEST_F_TIMEOUT(bell, doorbell_and_msix_wake_each_sleeper, 300)
{
	unsigned char out[L3L2Q_TASK_HDR_BYTES + TASK_MAX];
	struct epoll_event ev = { .events = EPOLLIN };
	long long bells, irqs, ticks;
	struct l3l2q_msg msg;
	struct io_uring ring;
	struct sleeper sl;
	const char *why;
	unsigned int t;
	pthread_t th;
	struct dq q;
	int via, res;

	ASSERT_EQ(0, dq_create(&q, self->d.node, DEPTH, ARENA, ARENA));
	/* The device attached (its feature word says it kicks) ... */
	ASSERT_EQ(0, task_roundtrip(&q, 1));
	/* ... so a poller started before that stops and stays idle. */
	for (t = 0; t < 60000; t += 10) {
		char st[16];

		if (!dbg_str(q.id, "poller", st, sizeof(st)) &&
		    !strcmp(st, "idle"))
			break;
		sleep_ms(10);
	}
	ticks = dbg_num(q.id, "poller_ticks");
	ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
	for (via = 0; via < VIA_COUNT; via++) {
		/* The device sleeps, armed for input. */
		for (t = 0; t < 60000; t++) {
			if (dq_ctrl(&q, L3L2Q_CTRL_L2_WAKE) &
			    L3L2Q_WAKE_INPUT_AVAIL)
				break;
			sleep_ms(1);
		}
		ASSERT_LT(t, 60000u) TH_LOG("the device never slept");
		/*
		 * The sleeper is asleep before the task goes out, so only
		 * the device's interrupt can wake it: the poller is idle.
		 */
		memset(&sl, 0, sizeof(sl));
		sl.fd = q.fd;
		sl.via = via;
		sl.seen = dq_ctr(&q, L3L2Q_CTR_OUTPUT_TAIL);
		sl.efd = sl.ep = -1;
		if (via == VIA_URING) {
			ASSERT_EQ(1, vm_submit_wait(&ring, q.fd,
						  L3L2Q_CTR_OUTPUT_TAIL, sl.seen,
						  l3l2q_now_ns() + 60 * SEC, 1));
		} else {
			if (via == VIA_EPOLL) {
				sl.ep = epoll_create1(EPOLL_CLOEXEC);
				ASSERT_GE(sl.ep, 0);
				ASSERT_EQ(0, epoll_ctl(sl.ep, EPOLL_CTL_ADD,
						       q.fd, &ev));
			} else if (via == VIA_EVENTFD) {
				sl.efd = eventfd(0, EFD_CLOEXEC);
				ASSERT_GE(sl.efd, 0);
				ASSERT_EQ(0, set_eventfd(q.fd, sl.efd));
			}
			ASSERT_EQ(0, pthread_create(&th, NULL, sleeper_fn, &sl));
			while (!__atomic_load_n(&sl.tid, __ATOMIC_ACQUIRE))
				sleep_ms(1);
			ASSERT_TRUE(vm_wait_blocked(sl.tid, via == VIA_WAIT ?
						 SYS_ioctl : via == VIA_EPOLL ?
						 SYS_epoll_wait : SYS_read));
		}
		/* Ask the device for a kick (W1, W2), then publish. */
		ASSERT_EQ(0, l3l2q_ep_want_wakeup(&q.l3.ep,
						  L3L2Q_WAKE_OUTPUT_AVAIL));
		bells = ivs_num(&self->d, "doorbells");
		irqs = ivs_irqs(&self->d);
		ASSERT_EQ(0, task_try_put(&q, 10 + via));
		/* Whether the publish kicked or not, KICK rings. */
		ASSERT_EQ(0, ioctl(q.fd, L3L2Q_IOC_KICK));
		EXPECT_LT(bells, ivs_num(&self->d, "doorbells"))
			TH_LOG("%s: KICK rang no doorbell", via_str(via));
		if (via == VIA_URING) {
			ASSERT_EQ(0, get_cqe(&ring, 60000, &res));
			EXPECT_EQ(0, res);
		} else {
			pthread_join(th, NULL);
			if (via == VIA_WAIT) {
				EXPECT_EQ(0, sl.res);
			} else if (via == VIA_EPOLL) {
				EXPECT_NE(0, sl.res & EPOLLIN);
			} else {
				EXPECT_LE(1, sl.res);
			}
			if (sl.ep >= 0)
				close(sl.ep);
			if (sl.efd >= 0) {
				EXPECT_EQ(0, set_eventfd(q.fd, -1));
				close(sl.efd);
			}
		}
		l3l2q_ep_clear_wakeup(&q.l3.ep, L3L2Q_WAKE_OUTPUT_AVAIL);
		/* The handler counts before it wakes. */
		EXPECT_LT(irqs, ivs_irqs(&self->d))
			TH_LOG("%s: woken without an interrupt", via_str(via));
		ASSERT_EQ(0, l3l2q_l3_dequeue(&q.l3, out, sizeof(out),
					      l3l2q_deadline_in(60 * SEC),
					      &msg));
		EXPECT_EQ(10 + via, task_check(out, msg.nbytes, msg.opcode,
					       &why)) TH_LOG("%s", why);
	}
	EXPECT_EQ(ticks, dbg_num(q.id, "poller_ticks"));
	io_uring_queue_exit(&ring);
	dq_destroy(&q);
}

/*
 * The device process killed (VMCTL kill-device 0): its heartbeat stops and
 * a sleeper learns it (-ECONNRESET) after DEAD_BEATS silent checks.  The
 * device started again is a new peer and serves new regions.
 */
TEST_F_TIMEOUT(bell, killed_device_is_told, 300)
{
	char why[128];
	long long deaths, peer;
	__u64 t0;
	struct dq q;

	ASSERT_EQ(0, dq_create(&q, self->d.node, DEPTH, ARENA, ARENA));
	ASSERT_EQ(0, task_roundtrip(&q, 1));
	deaths = ivs_num(&self->d, "deaths");
	peer = ivs_num(&self->d, "dev_peer_id");
	self->restart = 1;
	ASSERT_EQ(0, vmctl(why, sizeof(why), "kill-device 0")) TH_LOG("%s", why);
	t0 = l3l2q_now_ns();
	EXPECT_EQ(-ECONNRESET, vm_wait(q.fd, L3L2Q_CTR_OUTPUT_TAIL,
				       dq_ctr(&q, L3L2Q_CTR_OUTPUT_TAIL),
				       l3l2q_now_ns() + 120 * SEC));
	TH_LOG("told %llu ms after the kill (bound: %lld ms after the last beat, plus the check's delay)",
	       (l3l2q_now_ns() - t0) / MS,
	       ivs_num(&self->d, "heartbeat_ms") * (L3L2Q_DIR_DEAD_BEATS + 1));
	EXPECT_EQ(deaths + 1, ivs_num(&self->d, "deaths"));
	EXPECT_EQ(L3L2Q_DIR_DEAD_BEATS, ivs_num(&self->d, "dead_after"));
	ivs_line(&self->d, "death", why, sizeof(why));
	EXPECT_STREQ("its heartbeat stopped", why);
	EXPECT_EQ(L3L2Q_ROLE_DEAD, dq_ctrl(&q, L3L2Q_CTRL_L2_STATE));
	dq_destroy(&q);

	ASSERT_EQ(0, vmctl(why, sizeof(why), "start-device 0")) TH_LOG("%s", why);
	self->restart = 0;
	ASSERT_EQ(0, bell_wait_live(&self->d));
	EXPECT_NE(peer, ivs_num(&self->d, "dev_peer_id"));
	ASSERT_EQ(0, dq_create(&q, self->d.node, DEPTH, ARENA, ARENA));
	EXPECT_EQ(0, task_roundtrip(&q, 2));
	dq_destroy(&q);
}

/*
 * The device scribbles random bytes over its whole memory (VMCTL
 * scribble-device 0) while the host calls everything: every call gives a
 * documented result, nothing hangs, the kernel stays quiet (the runner
 * scans dmesg).  A fresh bind brings the device back into service.
 */
TEST_F_TIMEOUT(bell, scribbling_device_fails_cleanly, 300)
{
	struct l3l2q_info_args info;
	unsigned char buf[256];
	char why[128], bdf[32];
	struct pollfd pfd;
	struct dq q[2];
	unsigned int i, round;

	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, dq_create(&q[i], self->d.node, DEPTH, ARENA, ARENA));
		ASSERT_EQ(0, task_roundtrip(&q[i], i));
	}
	ASSERT_EQ(0, vmctl(why, sizeof(why), "scribble-device 0")) TH_LOG("%s", why);
	for (round = 0; round < 300; round++) {
		for (i = 0; i < 2; i++) {
			memset(buf, (int)round, sizeof(buf));
			EXPECT_ONE_OF(l3l2q_l3_try_enqueue(&q[i].l3, L3L2Q_OP_DATA,
							   buf, round % 256),
				      0, -EAGAIN, -EPROTO, -ECONNRESET);
			EXPECT_ONE_OF(l3l2q_l3_try_dequeue(&q[i].l3, buf,
							   sizeof(buf), NULL),
				      0, -EAGAIN, -EPROTO, -ECONNRESET,
				      -EMSGSIZE);
			EXPECT_ONE_OF(vm_wait(q[i].fd, L3L2Q_CTR_OUTPUT_TAIL,
					      (__s32)round,
					      l3l2q_now_ns() + 10 * MS),
				      0, -ETIMEDOUT, -ECONNRESET, -EINTR);
			EXPECT_EQ(0, ioctl(q[i].fd, L3L2Q_IOC_KICK));
			memset(&info, 0, sizeof(info));
			EXPECT_EQ(0, ioctl(q[i].fd, L3L2Q_IOC_INFO, &info));
			EXPECT_EQ(DEPTH, info.depth);
			pfd.fd = q[i].fd;
			pfd.events = POLLIN | POLLOUT;
			EXPECT_LE(0, poll(&pfd, 1, 0));
		}
	}
	TH_LOG("300 rounds of calls after the scribble: endpoints %s and %s, the device %s",
	       l3l2q_ep_state(&q[0].l3.ep) == L3L2Q_STATE_LIVE ? "live" : "ended",
	       l3l2q_ep_state(&q[1].l3.ep) == L3L2Q_STATE_LIVE ? "live" : "ended",
	       ivs_num(&self->d, "live") == 1 ? "live" : "not live");
	for (i = 0; i < 2; i++)
		dq_destroy(&q[i]);

	/* A new directory: the device follows the new epoch. */
	scpy(bdf, sizeof(bdf), self->d.bdf);
	ASSERT_EQ(0, ivs_unbind(&self->d));
	ASSERT_EQ(0, ivs_bind(&self->d));
	ASSERT_EQ(0, ivs_wait_bound(&self->d, 1, bdf, 10000));
	ASSERT_EQ(0, bell_wait_live(&self->d));
	ASSERT_EQ(0, dq_create(&q[0], self->d.node, DEPTH, ARENA, ARENA));
	EXPECT_EQ(0, task_roundtrip(&q[0], 3));
	dq_destroy(&q[0]);
}

TEST_HARNESS_MAIN
