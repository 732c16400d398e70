/* SPDX-License-Identifier: MIT
 *
 * A Promela model of l3l2q's need-wakeup protocol (uapi/l3l2q.h, "Waking
 * instead of spinning"; DESIGN.md section 5), checked by tests/spin_check.sh
 * with spin for: no lost wakeup, no deadlock, every message consumed.
 *
 * What is modelled
 * ----------------
 * One ring direction (the input ring), DEPTH slots, MSGS messages, two
 * processes:
 *
 *   producer  L3: publishes input; when the ring is full it waits for
 *             space (bit L3L2Q_WAKE_INPUT_SPACE in L3's wake word, counter
 *             input head, kicked by L2 after it releases).
 *   consumer  L2: consumes input; when the ring is empty it waits for input
 *             (bit L3L2Q_WAKE_INPUT_AVAIL in L2's wake word, counter input
 *             tail, kicked by L3 after it publishes).
 *
 * Each role thus plays both parts of the protocol, once per direction of
 * the handshake.  The output ring is the same two waits with the roles
 * swapped, so it needs no model of its own.  Each wake word is one bit
 * here: only one bit of each word is in play, and every word has a single
 * writer.
 *
 * Weak memory
 * -----------
 * Every store to shared memory (mem[]) goes through the storing process's
 * FIFO store buffer and becomes visible later, when the process "memory"
 * chooses to drain it (any time, in any interleaving).  A load returns the
 * process's own newest buffered store to that location if there is one,
 * else mem[].  That is x86-TSO, whose one relaxation, a store followed by a
 * load of another location, is exactly what W2/P2 are for; the ones weaker
 * CPUs add (store->store, load->load, load->store) are ruled out where they
 * matter by the protocol's release stores, acquire loads and the fences
 * themselves, so release and acquire need no extra steps here.  A full
 * fence (smp_mb, W2/P2) waits until the process's store buffer is empty.
 *
 * The kernel is assumed to give no ordering of its own to the caller's
 * earlier stores: entering WAIT or KICK does not drain the store buffer.
 * (Linux's prepare_to_wait does contain an smp_mb, but the same protocol
 * also serves eventfd and io_uring waits, and the UAPI promises only W2/P2;
 * see KERNEL_MB below.)
 * The kernel's wait queue is modelled by reg[]/woken[]/asleep[] and its
 * operations are atomic, as they are under the wait-queue lock.
 * Waits are modelled without a deadline: a timeout would turn a lost
 * wakeup into a latency spike, which is exactly what must not happen.
 * Not modelled: signals (-EINTR), peer death, several waiters of one role
 * at once, the spinning before W1 (a waiter here goes to W1 as soon as it
 * finds nothing, which only adds interleavings).
 *
 * Statement map (C = consumer, P = producer)
 * ------------------------------------------
 *   input-avail wait (C waits, P kicks)     space wait (P waits, C kicks)
 *   W1  C: store(WAKE_C, 1)                 W1  P: store(WAKE_P, 1)
 *   W2  C: fence(C)                         W2  P: fence(P)
 *   W3  C: load(TAIL) == h ?                W3  P: load(HEAD) == t - DEPTH ?
 *   W4  C: kwait(C, TAIL, h)                W4  P: kwait(P, HEAD, h)
 *   W5  C: back to W3; on exit              W5  P: back to W3; on exit
 *          store(WAKE_C, 0)                        store(WAKE_P, 0)
 *   P1  P: store(TAIL, t)                   P1  C: store(HEAD, h)
 *   P2  P: fence(P)                         P2  C: fence(C)
 *   P3  P: load(WAKE_C)                     P3  C: load(WAKE_P)
 *   P4  P: kick(C) if set                   P4  C: kick(P) if set
 *
 *   In the code the labels W1_C .. P4_C and W1_P .. P4_P mark them (the
 *   consumer's P1_C .. P4_C are its release of input space).
 *
 *   kwait (the WAIT ioctl):  K1 register on the wait queue (prepare_to_wait),
 *   K2 re-read the counter, return if it differs from seen, K3 sleep until
 *   kicked, then back to K1.  kick (the KICK ioctl): wake the peer's
 *   waiter if one is registered; a kick with nobody registered does nothing.
 *
 * Properties
 * ----------
 *   1. No deadlock: the only valid end state is both processes finished
 *      (consumer after MSGS messages, producer after publishing MSGS); a
 *      process asleep in kwait or blocked waiting for space is an invalid end
 *      state (pan's default check; "memory" loops at an end label).
 *   2. No lost wakeup (monitor, checked in every reachable state): a
 *      process is never asleep, not woken, while the counter it waits on
 *      differs from what it saw and its peer owes no kick (kick_due: the peer
 *      has done P1 and not yet P3 or P4).  This catches a lost wakeup at the
 *      moment it happens, even if a later message would have hidden it.
 *   3. Progress and data: the consumer asserts each slot holds the next
 *      message in order, and with a bounded MSGS property 1 means every
 *      published message is consumed.
 *
 * Variants (-D on the spin command line), each a bitmask of the directions
 * that get the bug: 1 = input-avail wait, 2 = space wait.  Each must fail.
 *   BUG_NO_W2      the waiter has no full fence between W1 and W3
 *   BUG_NO_P2      the publisher has no full fence between P1 and P3
 *   BUG_NO_RECHECK the kernel's WAIT reads the counter before registering
 *                  and sleeps without re-reading it after
 * Two switches (0 or 1) change the kernel, not the protocol:
 *   EVENTFD        W4 sleeps in read() on the role's eventfd, which KICK
 *                  signals, instead of in the WAIT ioctl (DESIGN.md 5:
 *                  "the kernel side of a kick ... signals a registered
 *                  eventfd").  The kernel re-checks no counter here: an
 *                  eventfd stays readable until read, so an early kick is
 *                  not lost, and only W2/P2 order the bit against the tail.
 *   KERNEL_MB      entering the wait is a full fence (Linux's
 *                  set_current_state() in prepare_to_wait is an smp_mb).
 *                  With the WAIT ioctl this alone makes up for a missing
 *                  W2 (the kernel re-reads the counter after it); with
 *                  EVENTFD it does not, which is why W2 is in the protocol.
 * Sizes: DEPTH (default 2), MSGS (default 3).  pan -E checks the
 * assertions (properties 2 and 3) alone, pan -A the end states (property 1)
 * alone; tests/spin_check.sh shows that each bug breaks both.
 *
 * One thread per direction (DUAL=1)
 * ---------------------------------
 * A role may have a thread per direction, and both threads' bits live in
 * the role's one wake word.  With DUAL=1 a third process, "other" (L2's
 * output thread, waiting for output space: bit 2 of L2's word), arms and
 * clears its own bit of WAKE_C OTHER_ARMS times while the consumer (bit 1)
 * runs.  The word then holds (arming count << 2) | bits, every change of it
 * is an atomic read-modify-write (a locked instruction: it drains the
 * store buffer, then reads and writes memory in one step; the code's
 * compare-and-swap and fetch_and), and the producer kicks when bit 1 is
 * set, the count differs from the one it kicked last and the seen word
 * differs.  The other thread's armings bump the shared count: that may
 * cost a kick, never suppress one.  Its own sleep is not modelled (nobody
 * here kicks bit 2): it arms, finds work and clears.  Two more variants,
 * each a bug the library had and each caught:
 *   BUG_PLAIN_RMW   every change of the word is a plain load and a
 *                   (buffered) store, so one thread can write back a stale
 *                   word over the other's bit
 *   BUG_SHARED_EFD  (with EVENTFD=1) both threads of the role sleep on one
 *                   eventfd, so the other thread's read can take the kick
 *                   meant for the consumer; with one eventfd per wait bit
 *                   (the fix) it never touches the consumer's
 */

#ifndef DEPTH
#define DEPTH	2
#endif
#ifndef MSGS
#define MSGS	3
#endif
#ifndef BUG_NO_W2
#define BUG_NO_W2	0
#endif
#ifndef BUG_NO_P2
#define BUG_NO_P2	0
#endif
#ifndef BUG_NO_RECHECK
#define BUG_NO_RECHECK	0
#endif
#ifndef SPACE_NEED
#define SPACE_NEED	1
#endif
#ifndef BUG_NO_REARM
#define BUG_NO_REARM	0
#endif
#ifndef BUG_NO_SEEN
#define BUG_NO_SEEN	0
#endif
#ifndef BUG_NEW_SEEN
#define BUG_NEW_SEEN	0
#endif
#ifndef EVENTFD
#define EVENTFD		0
#endif
#ifndef DUAL
#define DUAL		0
#endif
#ifndef OTHER_ARMS
#define OTHER_ARMS	2
#endif
#ifndef BUG_PLAIN_RMW
#define BUG_PLAIN_RMW	0
#endif
#ifndef BUG_SHARED_EFD
#define BUG_SHARED_EFD	0
#endif

/*
 * P4: kick when the peer armed (w != 0), this arming was not kicked yet,
 * and the counter just published differs from the one it armed with.
 */
#define KICK(w, s, ctr)	((w) && (w) != kicked && \
			 ((BUG_NO_SEEN) || (s) != (ctr)))
/* The same for the consumer's bit 1 of a DUAL word (count << 2 | bits). */
#define KICK2(w, s, ctr) (((w) & 1) && ((w) >> 2) != kicked && (s) != (ctr))
#ifndef KERNEL_MB
#define KERNEL_MB	0
#endif

#define DIR_AVAIL	1	/* consumer waits for input, producer kicks */
#define DIR_SPACE	2	/* producer waits for space, consumer kicks */

/* processes with a store buffer and a wait queue */
#define P	0		/* producer, L3 */
#define C	1		/* consumer, L2 */
#define O	2		/* DUAL: L2's other thread */
#define NPROC	(2 + DUAL)

/* shared memory locations */
#define TAIL	0		/* input tail, written by P */
#define HEAD	1		/* input head, written by C */
#define WAKE_C	2		/* L2's wake word: INPUT_AVAIL, written by C */
#define WAKE_P	3		/* L3's wake word: INPUT_SPACE, written by P */
#define SEEN_C	4		/* the tail C armed with, written by C */
#define SEEN_P	5		/* the head P armed with, written by P */
#define DATA	6		/* DEPTH slots, written by P */
#define NLOC	(DATA + DEPTH)

#define SB	3		/* store-buffer entries per process */

byte mem[NLOC];

byte sb_n[NPROC];
byte sb_loc[NPROC * SB];
byte sb_val[NPROC * SB];

/* the kernel's wait queue, one waiter per role */
bit reg[2];			/* registered (prepare_to_wait done) */
bit woken[2];			/* kicked since it registered */
bit asleep[2];			/* committed to sleep after the re-check */
byte wctr[2];			/* counter waited on */
byte wseen[2];			/* the value it saw */

/* ghost: the peer has published and not yet read the wake word (P3) or
 * kicked (P4); indexed by the process to be kicked */
bit kick_due[2];

/* The only relaxation: the store is buffered.  Blocks while the buffer is
 * full (the CPU stalls). */
inline store(p, loc, val)
{
	d_step {
		sb_n[p] < SB;
		sb_loc[p * SB + sb_n[p]] = loc;
		sb_val[p * SB + sb_n[p]] = val;
		sb_n[p]++
	}
}

/* Load with store forwarding from the process's own buffer. */
inline load(p, loc, res)
{
	d_step {
		res = mem[loc];
		i = 0;
		do
		:: i < sb_n[p] ->
			if
			:: sb_loc[p * SB + i] == loc -> res = sb_val[p * SB + i]
			:: else
			fi;
			i++
		:: else -> break
		od;
		i = 0
	}
}

/* Full fence (smp_mb): wait for the store buffer to drain. */
inline fence(p)
{
	sb_n[p] == 0
}

/* The oldest buffered store of process p becomes visible. */
inline drain_one(p)
{
	d_step {
		sb_n[p] > 0;
		mem[sb_loc[p * SB]] = sb_val[p * SB];
		j = 1;
		do
		:: j < sb_n[p] ->
			sb_loc[p * SB + j - 1] = sb_loc[p * SB + j];
			sb_val[p * SB + j - 1] = sb_val[p * SB + j];
			j++
		:: else -> break
		od;
		sb_n[p]--;
		sb_loc[p * SB + sb_n[p]] = 0;
		sb_val[p * SB + sb_n[p]] = 0;
		j = 0
	}
}

/* KICK (by the peer of q): wake q's waiter, if one is registered; with
 * EVENTFD, signal q's eventfd, which stays readable until q reads it. */
inline kick(q)
{
	atomic {
		if
		:: reg[q] || EVENTFD -> woken[q] = 1
		:: else
		fi;
		kick_due[q] = 0
	}
}

/* WAIT (by p): sleep until mem[ctr] != seen.  Returns to the caller's W5. */
inline kwait(p, ctr, seen, dir)
{
	if
	:: KERNEL_MB -> fence(p)
	:: else
	fi;
	if
	:: EVENTFD ->
		/* W4 by read() of the eventfd: no counter, nothing to re-check;
		 * a kick that came first left it readable */
		d_step { wctr[p] = ctr; wseen[p] = seen; asleep[p] = 1 };
		d_step { woken[p] -> asleep[p] = 0; woken[p] = 0 }
	:: BUG_NO_RECHECK & dir ->
		/* the bug: test, then register, then sleep unconditionally */
		if
		:: mem[ctr] != seen
		:: else ->
			d_step {
				reg[p] = 1; woken[p] = 0; wctr[p] = ctr;
				wseen[p] = seen; asleep[p] = 1
			};
			d_step { woken[p] -> asleep[p] = 0; reg[p] = 0; woken[p] = 0 }
		fi
	:: else ->
		/* the WAIT ioctl */
		do
		:: /* K1: prepare_to_wait */
			d_step {
				reg[p] = 1; woken[p] = 0; wctr[p] = ctr; wseen[p] = seen
			};
			/* K2: re-check the counter after registering */
			if
			:: d_step { mem[ctr] != seen -> reg[p] = 0; woken[p] = 0 };
				break
			:: d_step { mem[ctr] == seen -> asleep[p] = 1 }
			fi;
			/* K3: schedule() until woken, then K1 again */
			d_step { woken[p] -> asleep[p] = 0; reg[p] = 0; woken[p] = 0 }
		od
	fi
}

/*
 * DUAL: a read-modify-write of the L2 wake word (count << 2 | bits) by
 * process p, setting (@set) or clearing bit @b; with BUG_PLAIN_RMW a plain
 * load and a buffered store.  Without DUAL the consumer's word is just
 * its arming count (nonzero: armed), one writer.
 */
inline rmw_wake(p, b, set)
{
	if
	:: BUG_PLAIN_RMW ->
		load(p, WAKE_C, w);
		if
		:: set -> store(p, WAKE_C, (((w >> 2) + 1) << 2) | (w & 3) | b)
		:: else -> store(p, WAKE_C, w & (255 - b))
		fi
	:: else ->
		d_step {
			sb_n[p] == 0;
			if
			:: set -> mem[WAKE_C] = (((mem[WAKE_C] >> 2) + 1) << 2) |
						(mem[WAKE_C] & 3) | b
			:: else -> mem[WAKE_C] = mem[WAKE_C] & (255 - b)
			fi
		}
	fi
}

inline arm_c()
{
	if
	:: DUAL -> rmw_wake(C, 1, 1)
	:: else -> store(C, WAKE_C, arm)
	fi
}

inline clear_c()
{
	if
	:: DUAL -> rmw_wake(C, 1, 0)
	:: else -> store(C, WAKE_C, 0)
	fi
}

/* process p asleep for good: nothing will wake it and its counter moved */
#define LOST(p)		(asleep[p] && !woken[p] && \
			 mem[wctr[p]] != wseen[p] && !kick_due[p])

active proctype producer()
{
	byte t = 0;		/* P's own tail; it never re-reads it */
	byte arm = 0;		/* P's arming count (its wake word) */
	byte sp = 0;		/* the head P armed with (its seen word) */
	byte kicked = 0;	/* C's arming P kicked last */
	byte h, w, s, i;

	do
	:: t == MSGS -> break
	:: else ->
		load(P, HEAD, h);			/* acquire */
		if
		:: t - h == DEPTH ->
			/* full: wait for space (SPACE_NEED slots of it) */
W1_P:			arm++;
			sp = h;
			store(P, SEEN_P, sp);
			store(P, WAKE_P, arm);
			if
			:: BUG_NO_W2 & DIR_SPACE -> skip
			:: else -> W2_P: fence(P)
			fi;
W3_P:			do
			:: load(P, HEAD, h);
				if
				:: t - h <= DEPTH - SPACE_NEED -> break
				:: else
				fi;
				/* W4 waits on the value it armed with */
W4_P:				if
				:: (BUG_NEW_SEEN | BUG_NO_REARM) & DIR_SPACE ->
					kwait(P, HEAD, h, DIR_SPACE)
				:: else -> kwait(P, HEAD, sp, DIR_SPACE)
				fi;
				/* W5: a new arming, then re-check at W3 */
				if
				:: BUG_NO_REARM & DIR_SPACE -> skip
				:: else ->
					arm++;
					sp = h;
					store(P, SEEN_P, sp);
					store(P, WAKE_P, arm);
					fence(P)
				fi
			od;
W5_P:			store(P, WAKE_P, 0)
		:: else
		fi;
		store(P, DATA + t % DEPTH, t + 1);	/* message t+1 */
		t++;
P1_P:		atomic { store(P, TAIL, t); kick_due[C] = 1 };	/* release */
		if
		:: BUG_NO_P2 & DIR_AVAIL -> skip
		:: else -> P2_P: fence(P)
		fi;
P3_P:		atomic {
			load(P, WAKE_C, w);
			load(P, SEEN_C, s);
			if
			:: DUAL && KICK2(w, s, t) -> skip
			:: !DUAL && KICK(w, s, t) -> skip
			:: else -> kick_due[C] = 0
			fi
		};
P4_P:		if
		:: DUAL && KICK2(w, s, t) -> kicked = w >> 2; kick(C)
		:: !DUAL && KICK(w, s, t) -> kicked = w; kick(C)
		:: else
		fi;
		w = 0; s = 0; h = 0
	od
}

active proctype consumer()
{
	byte h = 0;		/* C's own head */
	byte arm = 0;		/* C's arming count (its wake word) */
	byte kicked = 0;	/* P's arming C kicked last */
	byte t, v, w, s, i;

	do
	:: h == MSGS -> break
	:: else ->
		load(C, TAIL, t);			/* acquire */
		if
		:: t == h ->
			/* empty: wait for input */
W1_C:			arm++;
			store(C, SEEN_C, h);
			arm_c();
			if
			:: BUG_NO_W2 & DIR_AVAIL -> skip
			:: else -> W2_C: fence(C)
			fi;
W3_C:			do
			:: load(C, TAIL, t);
				if
				:: t != h -> break
				:: else
				fi;
W4_C:				kwait(C, TAIL, h, DIR_AVAIL);
				/* W5: a new arming, then re-check at W3 */
				if
				:: BUG_NO_REARM & DIR_AVAIL -> skip
				:: else ->
					arm++;
					store(C, SEEN_C, h);
					arm_c();
					fence(C)
				fi
			od;
W5_C:			clear_c()
		:: else
		fi;
		load(C, DATA + h % DEPTH, v);
		assert(v == h + 1);			/* in order, not overwritten */
		h++;
P1_C:		atomic { store(C, HEAD, h); kick_due[P] = 1 };	/* release */
		if
		:: BUG_NO_P2 & DIR_SPACE -> skip
		:: else -> P2_C: fence(C)
		fi;
P3_C:		atomic {
			load(C, WAKE_P, w);
			load(C, SEEN_P, s);
			if
			:: KICK(w, s, h) -> skip
			:: else -> kick_due[P] = 0
			fi
		};
P4_C:		if
		:: KICK(w, s, h) -> kicked = w; kick(P)
		:: else
		fi;
		t = 0; v = 0; w = 0; s = 0
	od;
	assert(h == MSGS)
}

/*
 * DUAL: L2's other thread (its output direction) arms and clears its own
 * bit, 2, of the same word, OTHER_ARMS times; after arming it finds work
 * (its sleep is not modelled).  With BUG_SHARED_EFD it shares the
 * consumer's eventfd, and a read of it may take the consumer's kick.
 */
active [DUAL] proctype other()
{
	byte k = 0;
	byte w, i;

	do
	:: k == OTHER_ARMS -> break
	:: else ->
		rmw_wake(O, 2, 1);			/* W1 */
		fence(O);				/* W2 */
		if
		:: BUG_SHARED_EFD -> d_step { woken[C] -> woken[C] = 0 }
		:: true
		fi;
		rmw_wake(O, 2, 0);			/* W5: clear */
		k++;
		w = 0
	od
}

/* Drains the store buffers, in any interleaving. */
active proctype memory()
{
	byte j;

end:	do
	:: drain_one(P)
	:: drain_one(C)
	:: DUAL && sb_n[O] > 0 -> drain_one(O)
	od
}

/* Property 2, evaluated in every reachable state. */
active proctype monitor()
{
	/* Each assertion holds in every reachable state: the monitor may run
	 * at any point, and the first changes nothing. */
	assert(!LOST(C));	/* the consumer (L2) missed INPUT_AVAIL */
	assert(!LOST(P))	/* the producer (L3) missed INPUT_SPACE */
}
