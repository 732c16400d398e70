/* SPDX-License-Identifier: MIT */
/*
 * A forked L2 for the suites of the signals object (libl3l2q_signals.h):
 * the child attaches over the parent's socket and says so on a pipe.
 */
#ifndef L3L2Q_TEST_SIG_ATTACH_H
#define L3L2Q_TEST_SIG_ATTACH_H

#include <sys/types.h>
#include <unistd.h>

#include "libl3l2q_signals.h"

/* The child: attach as L2 over @fd; exit 90 if that fails. */
static inline struct l3l2q_sig *sa_child_attach(int fd,
						struct l3l2q_signals **sg)
{
	if (l3l2q_sig_attach(fd, sg, NULL))
		_exit(90);
	return l3l2q_signals_handle(*sg);
}

/*
 * Fork an L2 that attaches over @peer and writes one byte to @sync[1]
 * before it goes on (a wait the parent prepared before that would see the
 * L2 come).  In the child: 0, with *@sg and *@s set.  In the parent: the
 * child's pid once it is attached, or -1.  @sync stays open for the
 * caller, who may use it further and closes it (-1 each when pipe()
 * failed).
 */
static inline pid_t sa_fork_attached(int peer, struct l3l2q_signals **sg,
				     struct l3l2q_sig **s, int sync[2])
{
	pid_t pid;
	char c;

	if (pipe(sync)) {
		sync[0] = sync[1] = -1;
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		*s = sa_child_attach(peer, sg);
		if (write(sync[1], "a", 1) != 1)
			_exit(91);
		return 0;
	}
	if (pid > 0 && read(sync[0], &c, 1) != 1)
		return -1;
	return pid;
}

#endif
