/* SPDX-License-Identifier: MIT */
/*
 * The guest's side of tools/vm/run.sh's VMCTL channel: a line
 * "VMCTL <cmd> [args]" on the console makes the runner act on the host
 * (kill-device N, start-device N [options], scribble-device N, unplug N;
 * run.sh's header says what each does), and its answer
 * "VMACK ok|fail <cmd> [args][: why]" comes back on /dev/ttyS1.
 *
 * Device 0 is the ivshmem-doorbell device, device 1 the ivshmem-plain one.
 */
#ifndef L3L2Q_VM_VMCTL_H
#define L3L2Q_VM_VMCTL_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

/* The runner answers at once; TCG and a slow host may make it seconds. */
#define VMCTL_TIMEOUT_MS	120000

static inline long long vmctl_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* /dev/ttyS1 in raw mode (no echo, no line editing), or -errno. */
static inline int vmctl_open_answers(void)
{
	struct termios t;
	int fd = open("/dev/ttyS1", O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (tcgetattr(fd, &t) == 0) {
		cfmakeraw(&t);
		t.c_cflag |= CLOCAL | CREAD;
		tcsetattr(fd, TCSANOW, &t);
	}
	return fd;
}

/*
 * Send "VMCTL <cmd>" (printf-style) and wait for its answer: 0 (ok),
 * -EIO (fail; @why gets the reason), -ETIMEDOUT, or -errno.  @why may be
 * NULL.
 */
static inline int vmctl(char *why, size_t cap, const char *fmt, ...)
{
	char cmd[160], line[512], buf[600];
	long long end = vmctl_ms() + VMCTL_TIMEOUT_MS;
	size_t len = 0, clen;
	struct pollfd p;
	int con, tty, n, ret = -ETIMEDOUT;
	char *nl, *rest;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	clen = strlen(cmd);
	if (why && cap)
		why[0] = 0;
	tty = vmctl_open_answers();
	if (tty < 0)
		return tty;
	/* An answer to this command cannot be there yet: drop stale ones. */
	tcflush(tty, TCIFLUSH);
	con = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
	if (con < 0) {
		close(tty);
		return -errno;
	}
	/* One write: the line cannot be split by other console output. */
	n = snprintf(buf, sizeof(buf), "\nVMCTL %s\n", cmd);
	if (write(con, buf, (size_t)n) != n) {
		close(con);
		close(tty);
		return -EIO;
	}
	close(con);
	while (vmctl_ms() < end) {
		p = (struct pollfd){ .fd = tty, .events = POLLIN };
		if (poll(&p, 1, (int)(end - vmctl_ms())) <= 0)
			continue;
		n = (int)read(tty, line + len, sizeof(line) - 1 - len);
		if (n <= 0)
			continue;
		len += (size_t)n;
		line[len] = 0;
		while ((nl = strchr(line, '\n'))) {
			*nl = 0;
			rest = strstr(line, "VMACK ");
			if (rest) {
				rest += 6;
				ret = !strncmp(rest, "ok ", 3) ? 0 :
				      !strncmp(rest, "fail ", 5) ? -EIO : 1;
				rest = strchr(rest, ' ');
				if (ret != 1 && rest && !strncmp(rest + 1, cmd, clen) &&
				    (rest[1 + clen] == 0 || rest[1 + clen] == ':')) {
					if (why && cap)
						snprintf(why, cap, "%s", rest + 1);
					close(tty);
					return ret;
				}
			}
			ret = -ETIMEDOUT;
			len -= (size_t)(nl + 1 - line);
			memmove(line, nl + 1, len + 1);
		}
		if (len == sizeof(line) - 1)
			len = 0;	/* no line that long is ours */
	}
	close(tty);
	return -ETIMEDOUT;
}

#endif /* L3L2Q_VM_VMCTL_H */
