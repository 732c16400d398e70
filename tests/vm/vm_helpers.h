/* SPDX-License-Identifier: MIT */
/*
 * Helpers the in-VM suites share: debugfs, a queue fd's id from fdinfo,
 * the module's parameters, a fixture's role files and mapping.
 */
#ifndef L3L2Q_VM_HELPERS_H
#define L3L2Q_VM_HELPERS_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/types.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "l3l2q.h"

#define DBG_ROOT	"/sys/kernel/debug"
#define DBG_DIR		DBG_ROOT "/l3l2q"
#define PARAM_DIR	"/sys/module/l3l2q/parameters/"

static inline int ensure_debugfs(void)
{
	if (access(DBG_DIR, F_OK) == 0)
		return 0;
	mount("debugfs", DBG_ROOT, "debugfs", 0, NULL);
	return access(DBG_DIR, F_OK);
}

/*
 * Regions alive: the files of DBG_DIR named by a region id (digits only);
 * a bound PCI device has a directory there too (l3l2q<N>).  -1 on error.
 */
static inline int count_regions(void)
{
	struct dirent *de;
	int n = 0;
	DIR *d;

	d = opendir(DBG_DIR);
	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] >= '0' && de->d_name[0] <= '9')
			n++;
	closedir(d);
	return n;
}

static inline void copy_word(char *dst, size_t len, const char *src)
{
	size_t n;

	src += strspn(src, " \t");
	n = strcspn(src, " \t\n");
	if (n >= len)
		n = len - 1;
	memcpy(dst, src, n);
	dst[n] = 0;
}

static inline unsigned long long fd_queue_id(int fd, char *role, size_t role_len)
{
	unsigned long long id = 0;
	char path[64], line[128];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "l3l2q-queue:", 12))
			id = strtoull(line + 12, NULL, 10);
		else if (role && !strncmp(line, "l3l2q-role:", 11))
			copy_word(role, role_len, line + 11);
	}
	fclose(f);
	return id;
}

static inline int read_param(const char *name, unsigned long *val)
{
	char path[128];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), PARAM_DIR "%s", name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	ok = fscanf(f, "%lu", val) == 1;
	fclose(f);
	return ok ? 0 : -1;
}

static inline int write_param(const char *name, unsigned long val)
{
	char path[128];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), PARAM_DIR "%s", name);
	f = fopen(path, "w");
	if (!f)
		return -1;
	ok = fprintf(f, "%lu\n", val) > 0;
	return (fclose(f) == 0 && ok) ? 0 : -1;
}

/* Sleep @ms milliseconds, whatever signals come. */
static inline void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* A shared word of a mapping, acquire-loaded. */
static inline __u32 load_u32(const void *base, size_t off)
{
	return __atomic_load_n((const __u32 *)((const char *)base + off),
			       __ATOMIC_ACQUIRE);
}

static inline __s32 load_s32(const void *base, size_t off)
{
	return __atomic_load_n((const __s32 *)((const char *)base + off),
			       __ATOMIC_ACQUIRE);
}

/* "key: value" of queue @id's debugfs file, as a string; 0 if found. */
static inline int dbg_str(unsigned long long id, const char *key, char *out,
			  size_t len)
{
	char path[96], line[256];
	size_t klen = strlen(key);
	int found = -1;
	FILE *f;

	snprintf(path, sizeof(path), DBG_DIR "/%llu", id);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			copy_word(out, len, line + klen + 1);
			found = 0;
			break;
		}
	fclose(f);
	return found;
}

/* The number of "key: N" in queue @id's debugfs file; -9999 if absent. */
static inline long long dbg_num(unsigned long long id, const char *key)
{
	char v[64];

	if (dbg_str(id, key, v, sizeof(v)))
		return -9999;
	return strtoll(v, NULL, 10);
}

/*
 * Become @uid (and gid @uid) for good.  With @keep_cap >= 0, keep that one
 * capability effective across the change (PR_SET_KEEPCAPS, then capset);
 * with -1, keep none.  0 or -errno.
 */
static inline int vm_become(unsigned int uid, int keep_cap)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[2];

	if (keep_cap >= 0 && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0))
		return -errno;
	if (setresgid(uid, uid, uid) || setresuid(uid, uid, uid))
		return -errno;
	if (keep_cap < 0)
		return 0;
	memset(d, 0, sizeof(d));
	d[keep_cap / 32].permitted = 1u << (keep_cap % 32);
	d[keep_cap / 32].effective = 1u << (keep_cap % 32);
	return syscall(SYS_capset, &h, d) ? -errno : 0;
}

/*
 * Drop every capability of this (root) process but @keep_cap (-1: all),
 * staying root.  0 or -errno.
 */
static inline int vm_drop_caps(int keep_cap)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	if (keep_cap >= 0) {
		d[keep_cap / 32].permitted = 1u << (keep_cap % 32);
		d[keep_cap / 32].effective = 1u << (keep_cap % 32);
	}
	return syscall(SYS_capset, &h, d) ? -errno : 0;
}

/* This process's VmPin (pinned memory) in kB, from /proc; -1 if absent. */
static inline long vm_pin_kb(void)
{
	char line[128];
	long kb = -1;
	FILE *f;

	f = fopen("/proc/self/status", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmPin: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

#define VM_CG_ROOT	"/sys/fs/cgroup"

/* Write @s to the file @path; 0 or -1. */
static inline int vm_write_str(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");
	int ok;

	if (!f)
		return -1;
	ok = fputs(s, f) >= 0;
	return (fclose(f) == 0 && ok) ? 0 : -1;
}

/* cgroup2 at /sys/fs/cgroup (mounted here if it is not); 0 or -1. */
static inline int vm_cgroup2(void)
{
	if (access(VM_CG_ROOT "/cgroup.procs", F_OK) == 0)
		return 0;
	return mount("cgroup2", VM_CG_ROOT, "cgroup2", 0, NULL);
}

/* Move this process into the cgroup directory @dir; 0 or -1. */
static inline int vm_cgroup_enter(const char *dir)
{
	char path[256], pid[32];

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	return vm_write_str(path, pid);
}

/*
 * How long to wait for something that must happen (a thread reaching its
 * wait, a completion already triggered): a watchdog for a hang, never a
 * verdict on speed -- TCG on a loaded host is slow.
 */
#define VM_WATCHDOG_MS	120000u

/*
 * The harness's default limit per test (30 s) is a speed limit under TCG,
 * not a watchdog: every in-VM suite includes this after the harness, and
 * a test without its own TEST_F_TIMEOUT gets two watchdog periods.
 */
#ifdef TEST_TIMEOUT_DEFAULT
#undef TEST_TIMEOUT_DEFAULT
#define TEST_TIMEOUT_DEFAULT	(2 * VM_WATCHDOG_MS / 1000)
#endif

/*
 * Is thread @tid blocked in system call @nr?  /proc/<tid>/syscall starts
 * with the number of the call a blocked task is in.
 */
static inline int vm_in_syscall(pid_t tid, long nr)
{
	char path[64], buf[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/syscall", tid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	n = strtol(buf, NULL, 10);
	/* glibc may implement epoll_wait() with epoll_pwait. */
	if (nr == SYS_epoll_wait && n == SYS_epoll_pwait)
		return 1;
	if (nr == SYS_read && n == SYS_pread64)
		return 1;
	return n == nr;
}

/* The scheduler state of thread @tid ('S': asleep in a system call). */
static inline char vm_task_state(pid_t tid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", tid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

/*
 * Wait until @tid sleeps in system call @nr: inside it and in state S (a
 * WAIT goes to S only in schedule(), after its check).  No guessed delay;
 * the limit is a watchdog.
 */
static inline int vm_wait_blocked(pid_t tid, long nr)
{
	unsigned int i;

	for (i = 0; i < VM_WATCHDOG_MS; i++) {
		if (vm_in_syscall(tid, nr) && vm_task_state(tid) == 'S')
			return 1;
		sleep_ms(1);
	}
	return 0;
}

/*
 * A region's role files and the L3's mapping, as the queue suites' fixtures
 * hold them (-1 / MAP_FAILED when absent), and a child that plays a role.
 */
struct vm_roles {
	int dev;
	int l3;
	int l2;
	void *map;
	size_t len;
	pid_t child;
};

static inline void vm_roles_init(struct vm_roles *r)
{
	r->dev = r->l3 = r->l2 = -1;
	r->map = MAP_FAILED;
	r->len = 0;
	r->child = -1;
}

/* PEER for the L2 fd, then the L3's mapping of all @len bytes: 0 or -errno. */
static inline int vm_roles_peer_map(struct vm_roles *r, size_t len)
{
	struct l3l2q_peer_args p;

	memset(&p, 0, sizeof(p));
	p.fd = -1;
	if (ioctl(r->l3, L3L2Q_IOC_PEER, &p))
		return -errno;
	r->l2 = p.fd;
	r->len = len;
	r->map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, r->l3, 0);
	return r->map == MAP_FAILED ? -errno : 0;
}

/* Kill the child, unmap, close: the teardown every such fixture does. */
static inline void vm_roles_close(struct vm_roles *r)
{
	if (r->child > 0) {
		kill(r->child, SIGKILL);
		waitpid(r->child, NULL, 0);
	}
	if (r->map != MAP_FAILED)
		munmap(r->map, r->len);
	if (r->l2 >= 0)
		close(r->l2);
	if (r->l3 >= 0)
		close(r->l3);
	if (r->dev >= 0)
		close(r->dev);
	vm_roles_init(r);
}

#endif /* L3L2Q_VM_HELPERS_H */
