// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness: the MPSC completion mailbox (lib/core/mailbox.c).
 *
 * The script interleaves producers and the consumer in one thread: a
 * push is one producer's whole step; a claim is a producer that took a
 * position and stalled before publishing it (done as push does it: the
 * head moved by one), and a later publish completes one of those, in any
 * order; pops, resets, and arbitrary writes anywhere in the mailbox.
 *
 * Invariants, after every step:
 *  1. push and pop return 0 or -EAGAIN, nothing else, but for push's
 *     -EPROTO, which it must return when (and only when) a write left the
 *     tail ahead of the head; push is -EAGAIN only when the ring is full;
 *     no call loops (libFuzzer's -timeout);
 *  2. while nothing wrote head, tail or skipped: pops come in position
 *     order, each pushed or published message exactly once, and a pop
 *     stops (-EAGAIN) exactly at the first claimed-but-unpublished
 *     position or at the head;
 *  3. a popped message whose entry nothing wrote since its publish has
 *     the fields it was published with, and seq = position + 1;
 *  4. always: a pop returns seq = (the tail it found) + 1.
 *
 * "Nothing wrote" means no arbitrary write since the entry's last
 * publish, whichever position that was: a write before a position is even
 * claimed can leave seq = position + 1 in its entry, which no mailbox can
 * tell from a publish (a claimed position may then pop early).  Resets
 * happen only with no claim stalled, as l3l2q_mailbox_reset() requires
 * (quiescent: no push or pop runs).
 *
 * FUZZ_BLIND=1: writes to entries are not recorded, so invariant 3 must
 * fail (tests/fuzz_check.sh).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "l3l2q_mailbox.h"
#include "fuzz_script.h"

#define MAX_OPS		4000u
#define CAP		L3L2Q_MAILBOX_CAPACITY

enum { P_NONE, P_CLAIMED, P_PUBLISHED };

/* What the model knows of one position (counted from the start). */
struct pos {
	uint8_t state;
	uint8_t salt;		/* its message: msg_for(position, salt) */
	uint32_t event;		/* when it was claimed or published */
};

static struct l3l2q_mailbox mb __attribute__((aligned(64)));
/* Per entry: the last event that wrote it behind the mailbox's back. */
static uint32_t entry_event[CAP];
/* Per entry: the last event that published into it (push or publish). */
static uint32_t entry_pub[CAP];

static uint64_t ld(const __u64 *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void msg_for(uint64_t p, uint8_t salt, struct l3l2q_mailbox_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->task_token = p * 977 + 1;
	m->addr = p ^ 0x5555;
	m->backend_cookie = salt;
	m->expected_value = (uint32_t)p + salt;
	m->engine = salt % 4;
	m->kind = salt & 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pos pos[MAX_OPS + 1];
	static uint64_t stalled[MAX_OPS];
	struct fz_in in = { data, size, 0 };
	struct l3l2q_mailbox_msg m, got;
	uint64_t base, h, t, p, nstalled = 0;
	int ctl_dirty = 0, blind = getenv("FUZZ_BLIND") != NULL;
	unsigned int ops = 0, i;
	uint32_t ev = 0;
	uint8_t op, salt;
	int ret;

	l3l2q_mailbox_init(&mb);
	memset(entry_event, 0, sizeof(entry_event));
	memset(entry_pub, 0, sizeof(entry_pub));
	/* Start anywhere (positions are u64), below 2^63 (see the header). */
	base = (uint64_t)fz_u8(&in) << 40 | (uint64_t)fz_u8(&in) << 8 | fz_u8(&in);
	mb.head = mb.tail = base;
	memset(pos, 0, sizeof(pos));
	while (in.i < in.n && ops++ < MAX_OPS) {
		op = fz_u8(&in) % 8;
		salt = fz_u8(&in);
		h = ld(&mb.head);
		t = ld(&mb.tail);
		switch (op) {
		case 0:
		case 1:		/* a producer pushes */
			msg_for(h, salt, &m);
			ret = l3l2q_mailbox_push(&mb, &m);
			/* A tail ahead of the head is corruption: -EPROTO. */
			if ((ret == -EPROTO) != ((int64_t)(h - t) < 0) ||
			    (ret && ret != -EAGAIN && ret != -EPROTO))
				fz_fail("push returned %d with head %llu, tail %llu",
				     ret, (unsigned long long)h,
				     (unsigned long long)t);
			if (ctl_dirty)
				break;
			if (ret == -EAGAIN) {
				if (h - t < CAP)
					fz_fail("push found the ring full at %llu of %u",
					     (unsigned long long)(h - t), CAP);
				break;
			}
			pos[h - base].state = P_PUBLISHED;
			pos[h - base].salt = salt;
			pos[h - base].event = ++ev;
			entry_pub[h & L3L2Q_MAILBOX_MASK] = ev;
			break;
		case 2:		/* a producer claims and stalls */
			if (ctl_dirty || h - t >= CAP || nstalled >= MAX_OPS)
				break;
			__atomic_store_n(&mb.head, h + 1, __ATOMIC_RELAXED);
			pos[h - base].state = P_CLAIMED;
			pos[h - base].event = ++ev;
			stalled[nstalled++] = h;
			break;
		case 3:		/* a stalled producer publishes, as push does */
			if (!nstalled)
				break;
			i = salt % nstalled;
			p = stalled[i];
			stalled[i] = stalled[--nstalled];
			msg_for(p, salt, &m);
			memcpy((char *)&mb.entries[p & L3L2Q_MAILBOX_MASK] + 8,
			       (char *)&m + 8, sizeof(m) - 8);
			__atomic_store_n(&mb.entries[p & L3L2Q_MAILBOX_MASK].seq,
					 p + 1, __ATOMIC_RELEASE);
			entry_pub[p & L3L2Q_MAILBOX_MASK] = ++ev;
			if (p - base <= MAX_OPS) {
				pos[p - base].state = P_PUBLISHED;
				pos[p - base].salt = salt;
				pos[p - base].event = ev;
			}
			break;
		case 4:
		case 5:		/* the consumer pops */
			ret = l3l2q_mailbox_pop(&mb, &got);
			if (ret && ret != -EAGAIN)
				fz_fail("pop returned %d", ret);
			if (!ret && got.seq != t + 1)
				fz_fail("pop at tail %llu returned seq %llu",
				     (unsigned long long)t,
				     (unsigned long long)got.seq);
			/* Written behind its back: no promise for this one. */
			if (ctl_dirty || (t != h && entry_event[t & L3L2Q_MAILBOX_MASK] >
					  entry_pub[t & L3L2Q_MAILBOX_MASK])) {
				if (!ret && !ctl_dirty)
					pos[t - base].state = P_NONE;
				break;
			}
			if (t == h || pos[t - base].state != P_PUBLISHED) {
				if (!ret)
					fz_fail("pop returned position %llu, %s",
					     (unsigned long long)t, t == h ?
					     "at the head" : "not published");
				break;
			}
			if (ret)
				fz_fail("pop of published position %llu: -EAGAIN",
				     (unsigned long long)t);
			msg_for(t, pos[t - base].salt, &m);
			m.seq = t + 1;
			if (memcmp(&m, &got, sizeof(m)))
				fz_fail("position %llu popped with other fields",
				     (unsigned long long)t);
			pos[t - base].state = P_NONE;
			break;
		case 6:		/* reset: the undrained ones are dropped */
			if (salt > 8 || nstalled)
				break;	/* only when quiescent */
			l3l2q_mailbox_reset(&mb);
			for (p = t; !ctl_dirty && p < h; p++)
				pos[p - base].state = P_NONE;
			break;
		default: {	/* write anywhere in the mailbox */
			size_t off = ((size_t)fz_u8(&in) << 8 | fz_u8(&in)) %
				     sizeof(mb);
			size_t n = 1 + fz_u8(&in) % 16, j;
			uint64_t oh = h, ot = t;

			if (n > sizeof(mb) - off)
				n = sizeof(mb) - off;
			for (j = 0; j < n; j++)
				((unsigned char *)&mb)[off + j] = fz_u8(&in);
			h = ld(&mb.head);
			t = ld(&mb.tail);
			/* head or tail moved: order promises end here. */
			if (h != oh || t != ot)
				ctl_dirty = 1;
			/* Entries written: their positions promise nothing. */
			ev++;
			for (j = off < 192 ? 0 : (off - 192) / 64;
			     !blind && j < CAP && 192 + 64 * j < off + n; j++)
				entry_event[j] = ev;
			break;
		}
		}
	}
	return 0;
}
