// SPDX-License-Identifier: MIT
/* A user's first program, built against an installed libl3l2q with
 * pkg-config (tests/install_check.sh, tests/deb_check.sh): one message
 * each way through a memfd queue, both roles in this process. */
#include <libl3l2q.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
	struct l3l2q_params p = { .depth = 4, .input_arena_bytes = 128,
				  .output_arena_bytes = 128,
				  .backend = L3L2Q_BACKEND_MEMFD };
	struct l3l2q_queue *q, *dev;
	struct l3l2q_error err = { 0 };
	struct l3l2q_msg in, out;
	struct l3l2q_res res;
	char buf[8] = { 0 };

	if (l3l2q_check_version(L3L2Q_VERSION_MAJOR, L3L2Q_VERSION_MINOR) ||
	    l3l2q_create(&p, &q, &err) ||
	    l3l2q_attach(l3l2q_peer_fd(q), NULL, &dev, &err) ||
	    l3l2q_l3_try_enqueue(l3l2q_queue_l3(q), L3L2Q_OP_DATA, "ping", 4) ||
	    l3l2q_l2_try_peek(l3l2q_queue_l2(dev), &in) || in.nbytes != 4 ||
	    l3l2q_l2_try_reserve(l3l2q_queue_l2(dev), 4, &res))
		return fprintf(stderr, "failed: %s\n", err.message), 1;
	memcpy(res.data, "pong", 4);
	if (l3l2q_l2_publish(l3l2q_queue_l2(dev), &res, L3L2Q_OP_DATA) ||
	    l3l2q_l2_release(l3l2q_queue_l2(dev), &in) ||
	    l3l2q_l3_try_dequeue(l3l2q_queue_l3(q), buf, sizeof(buf), &out) ||
	    strcmp(buf, "pong"))
		return fprintf(stderr, "round trip failed\n"), 1;
	printf("libl3l2q %d.%d: ping -> %s\n", l3l2q_major_version(),
	       l3l2q_minor_version(), buf);
	l3l2q_destroy(dev);
	l3l2q_destroy(q);
	return 0;
}
