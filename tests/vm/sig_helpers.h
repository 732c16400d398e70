/* SPDX-License-Identifier: MIT */
/*
 * sig_helpers.h - what the in-VM signals suites (signals_test,
 * signokick_test, siguring_test) share: a slot's address, SIG_WAIT and
 * SIG_WATCH as ioctls, a host asleep in poll, a child's exit code.
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

#endif /* L3L2Q_VM_SIG_HELPERS_H */
