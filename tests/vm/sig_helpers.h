/* SPDX-License-Identifier: MIT */
/*
 * sig_helpers.h - what the in-VM signals suites (signals_test,
 * signokick_test, siguring_test) share: a slot's address, SIG_WAIT and
 * SIG_WATCH as ioctls, a host asleep in poll, a child's exit code, a
 * library signals object over the driver with its L2 in a child.
 * Include after the kselftest harness and vm_helpers.h.
 */
#ifndef L3L2Q_VM_SIG_HELPERS_H
#define L3L2Q_VM_SIG_HELPERS_H

#include <errno.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "l3l2q_signals.h"
#include "libl3l2q_signals.h"
#include "vm_helpers.h"

/* Slot @id of the region mapped at @m. */
static inline __u64 *slot_of(void *m, const struct l3l2q_sig_layout *l,
			     __u32 id)
{
	return (__u64 *)((char *)m + l->hdmem_offset + l->hdmem.signal_offset +
			 (size_t)id * L3L2Q_HDMEM_SLOT_BYTES);
}

/* L3L2Q_IOC_SIG_WAIT on @nr entries of @v: 0 or -errno. */
static inline int sig_wait(int fd, struct l3l2q_sig_waitv *v, __u32 nr,
			   __u32 flags, __u64 deadline_ns)
{
	struct l3l2q_sig_wait_args a = {
		.waitv = (__u64)(uintptr_t)v, .nr = nr, .flags = flags,
		.deadline_ns = deadline_ns,
	};

	return ioctl(fd, L3L2Q_IOC_SIG_WAIT, &a) ? -errno : 0;
}

/* L3L2Q_IOC_SIG_WATCH (@evfd an eventfd, or -1: a poll watch). */
static inline int sig_watch(int fd, int evfd, __u32 id, __u32 cmp,
			    __u64 target, __u32 flags)
{
	struct l3l2q_sig_watch_args a = {
		.fd = evfd, .flags = flags, .id = id, .cmp = cmp,
		.target = target,
	};

	return ioctl(fd, L3L2Q_IOC_SIG_WATCH, &a) ? -errno : 0;
}

/* @pid asleep in poll(), ppoll() or epoll_wait() (glibc may use any). */
static inline int wait_blocked_poll(pid_t pid)
{
	unsigned int i;

	for (i = 0; i < VM_WATCHDOG_MS; i++) {
		if ((vm_in_syscall(pid, SYS_poll) ||
		     vm_in_syscall(pid, SYS_ppoll) ||
		     vm_in_syscall(pid, SYS_epoll_wait)) &&
		    vm_task_state(pid) == 'S')
			return 1;
		sleep_ms(1);
	}
	return 0;
}

/* A child's exit code, 255 if it did not exit normally, 254 if not ours. */
static inline int reap(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		return 254;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 255;
}

/*
 * A library signals object of 4 slots and 4 KiB over the driver, and its
 * L2 in a forked child.  The child drops its copy of the L3 object (only
 * the peer's own object stays, so the L3 file can die), attaches over the
 * peer file and runs @l2(cs); a non-zero result is its exit code.
 * Then it waits on slot 0 for a value that never comes: exit 0 when that
 * wait ends with -ECONNRESET (the L3 went), 12 otherwise; 10 when it
 * could not attach.  In the parent: 0 with *@sg and *@pid set, else -1.
 */
static inline int vm_sig_fork_l2(struct l3l2q_signals **sg, pid_t *pid,
				 int (*l2)(struct l3l2q_sig *cs))
{
	struct l3l2q_sig_params p = {
		.data_bytes = 4096, .signal_count = 4,
		.backend = L3L2Q_BACKEND_DEVICE,
	};
	struct l3l2q_signals *cg;
	struct l3l2q_error err;
	struct l3l2q_sig *cs;
	int peer, ret;

	if (l3l2q_sig_create(&p, sg, &err))
		return -1;
	peer = l3l2q_sig_peer_fd(*sg);
	if (peer < 0)
		return -1;
	*pid = fork();
	if (*pid == 0) {
		l3l2q_sig_destroy(*sg);
		if (l3l2q_sig_attach(peer, &cg, &err))
			_exit(10);
		close(peer);
		cs = l3l2q_signals_handle(cg);
		ret = l2(cs);
		if (ret)
			_exit(ret);
		_exit(l3l2q_sig_wait(cs, 0, L3L2Q_SIG_CMP_GE, 1000,
				     L3L2Q_DEADLINE_NONE, NULL) ==
		      -ECONNRESET ? 0 : 12);
	}
	close(peer);
	return *pid < 0 ? -1 : 0;
}

#endif /* L3L2Q_VM_SIG_HELPERS_H */
