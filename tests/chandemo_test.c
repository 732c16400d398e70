// SPDX-License-Identifier: MIT
/*
 * tools/l3l2q-chandemo on the host, over memfds (make demo-channel, small):
 *   - a small run with many device threads exits 0 and reports every
 *     control message taken exactly once and every task in order;
 *   - one host thread and one device thread, every message a call;
 *   - bad options exit 2 and name the option.
 * Fixed amounts of work; the wait for the demo is a watchdog only.
 */
#include <stdio.h>
#include <string.h>

#include "kselftest_harness.h"
#include "devsim_client.h"

#define WATCHDOG_S	600u

/*
 * Run the demo with @argv (NULL-terminated, argv[0] included), its stdout
 * and stderr into @out (@cap bytes, NUL-terminated); its exit status, or
 * -1 (the watchdog killed it).
 */
static int run_demo(const char *const *argv, char *out, size_t cap)
{
	char demo[PATH_MAX];
	FILE *f = tmpfile();
	size_t n = 0;
	int status;
	pid_t pid;

	out[0] = 0;
	if (!f)
		return -1;
	dc_tool_path(demo, sizeof(demo), "l3l2q-chandemo", "L3L2Q_CHANDEMO");
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		dup2(fileno(f), 1);
		dup2(fileno(f), 2);
		execv(demo, (char *const *)argv);
		_exit(127);
	}
	status = dc_wait_exit(pid, WATCHDOG_S);
	if (status == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	rewind(f);
	n = fread(out, 1, cap - 1, f);
	out[n] = 0;
	fclose(f);
	return status;
}

static char out[1 << 16];

TEST(small_run_checks_every_message)
{
	const char *const argv[] = { "l3l2q-chandemo", "--count", "2000",
		"--host-threads", "3", "--device-threads", "8",
		"--tasks", "5000", NULL };

	EXPECT_EQ(0, run_demo(argv, out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "control messages taken exactly once:"
			       " 6000 of 6000\n"));
	EXPECT_NE(NULL, strstr(out, "tasks taken in order, correct:"
			       " 5000 of 5000\n"));
	EXPECT_NE(NULL, strstr(out, "(1500 calls answered)"));
	EXPECT_NE(NULL, strstr(out, "every message checked: OK\n"));
	if (!strstr(out, "every message checked: OK\n"))
		TH_LOG("%s", out);
}

TEST(every_message_a_call)
{
	const char *const argv[] = { "l3l2q-chandemo", "--count", "500",
		"--host-threads", "1", "--device-threads", "1",
		"--call-every", "1", "--tasks", "0", NULL };

	EXPECT_EQ(0, run_demo(argv, out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "500 sent (500 calls answered)"));
	EXPECT_NE(NULL, strstr(out, "every message checked: OK\n"));
}

TEST(bad_options_exit_2)
{
	const char *const zero[] = { "l3l2q-chandemo", "--host-threads", "0",
				     NULL };
	const char *const many[] = { "l3l2q-chandemo", "--device-threads",
				     "99", NULL };
	const char *const junk[] = { "l3l2q-chandemo", "--count", "ten",
				     NULL };

	EXPECT_EQ(2, run_demo(zero, out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "--host-threads must be"));
	EXPECT_EQ(2, run_demo(many, out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "--device-threads must be"));
	EXPECT_EQ(2, run_demo(junk, out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "--count must be"));
}

TEST_HARNESS_MAIN
