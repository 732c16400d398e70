/* SPDX-License-Identifier: MIT
 *
 * A Promela model of the channel's receive side with several receiving
 * threads (lib/core/channel_recv.c, channel_wake.c; the protocol of
 * uapi/l3l2q_channel.h), checked by tests/channel_spin_check.sh with
 * spin: no message is stranded while every receiver sleeps, no deadlock,
 * every message taken exactly once and in order.
 *
 * What is modelled
 * ----------------
 * One lane of one direction, MSGS messages, a producer and NRECV threads
 * of the receiving side.
 *
 *   producer   publishes each message (A1), raises the lane's attention
 *              if the receivers have taken it (A3: ready == taken, flip
 *              ready), and then (P3, P4) kicks if the receivers have
 *              sleepers and an arming it has not kicked yet: the kick is
 *              a bump of its TX bell.  When every message has been taken
 *              it closes (rings the bell once more), as
 *              l3l2q_chan_close() would after its ACK.
 *   receivers  run l3l2q__chan_rx_attempt(): take attention (C1, C2:
 *              one taker at a time, counted at work from before it takes
 *              the try-lock until the lane is marked pending; a thread
 *              that finds the lock taken naps), claim the lane (a CAS; a
 *              claimed lane is skipped, never waited for), clear its
 *              pending bit and count themselves at work, read the tail,
 *              take one message, let the lane go (pending again if
 *              messages are left).  With nothing taken they look at rxs
 *              (pending bits and work count, read after the attention
 *              words): anything there makes the wait "local".  Then the
 *              blocking loop of l3l2q__chan_wait(): arm (W1: seen = bell,
 *              one more sleeper, a new arming), re-try (W3), and sleep
 *              (W4): a nap when local (it ends at the next bell or once no
 *              thread of the side is at work: the one event its
 *              L3L2Q_CHAN_NAP_NS bound stands in for), else until the
 *              bell differs from seen, as the driver's WAIT does; then
 *              disarm (W5).
 * Receiver 0 takes LIMIT0 messages and leaves (a thread that stops
 * receiving, perhaps right after a zero-copy hold); the others take the
 * rest and leave when the channel is closed and drained.
 *
 * Memory is sequentially consistent here: the full fences of A2, C3, W2
 * and P2 pair up exactly as in the queue's protocol, which
 * tests/wakeup.pml checks under TSO; this model checks the logic between
 * the threads of one side (the words rxs, claim, taken, the sleeper
 * count and the armings), which SC does not hide.  The statements between
 * a claim and its release may interleave with everything else, which
 * covers a claim held across a zero-copy message.
 *
 * Properties
 * ----------
 *   1. No deadlock (pan -A): the valid end states are the producer after
 *      its close and every receiver gone.  A message stranded while the
 *      receivers that remain sleep on the bell leaves the producer waiting
 *      for it and the sleepers waiting for a kick: an invalid end state.
 *   2. Exactly once, in order: each message is taken at the position the
 *      head is at, and the count of taken messages ends at MSGS.
 *
 * Variants (-D), each a bug that must be caught:
 *   BUG_NO_RXS_CHECK  a wait is local only when a claim failed (the rxs
 *                     word is not looked at) - the bug fixed in c620777
 *   BUG_NO_TOKEN      attention is taken without a token in the work count
 *   BUG_SPLIT_CLAIM   claiming clears the pending bit and counts the thread
 *                     at work in two steps, the pending bit first
 *   BUG_NO_ARM        an arming does not bump the arming count, so the
 *                     producer may take a new sleep for one it kicked
 *   BUG_STALE_READY   attention is taken by every thread at once with a
 *                     CAS, ready read before taken and kept across a failed
 *                     CAS (a stale ready gives back attention another
 *                     thread took) - found by this model in the first cut
 *   BUG_CAS_TAKE      the same, taken read before ready and both again
 *                     after a failed CAS: a bit going 0 -> 1 -> 0 lets the
 *                     CAS succeed with a stale ready - found by this model
 *                     in the second cut; hence one taker at a time
 * Sizes: MSGS (default 3), NRECV (2 or 3), LIMIT0 (default 1).
 */

#ifndef MSGS
#define MSGS	3
#endif
#ifndef NRECV
#define NRECV	2
#endif
#ifndef LIMIT0
#define LIMIT0	1
#endif
#ifndef BUG_NO_RXS_CHECK
#define BUG_NO_RXS_CHECK	0
#endif
#ifndef BUG_NO_TOKEN
#define BUG_NO_TOKEN	0
#endif
#ifndef BUG_SPLIT_CLAIM
#define BUG_SPLIT_CLAIM	0
#endif
#ifndef BUG_NO_ARM
#define BUG_NO_ARM	0
#endif
#ifndef BUG_STALE_READY
#define BUG_STALE_READY	0
#endif
#ifndef BUG_CAS_TAKE
#define BUG_CAS_TAKE	0
#endif

/* The lane and the words of uapi/l3l2q_channel.h. */
byte tail;		/* published by the producer */
byte head;		/* the receivers' position (under the claim) */
byte ltail;		/* the receivers' validated tail (under the claim) */
bit ready;		/* producer's attention bit */
bit taken;		/* receivers' attention bit */
byte bell;		/* producer's TX bell */
byte sleepers;		/* receivers' wake word: sleepers ... */
byte arming;		/* ... and arming count */
byte kicked = 255;	/* the arming the producer kicked last */
bit closed;

/* This side's words: rxs (pending bit, work count), claim, taking. */
bit pend;
byte work;
bit claim;
bit taking;

byte taken_total;	/* messages taken, by any receiver */

active proctype producer()
{
	byte m = 0;

	do
	:: m < MSGS ->
		tail++;					/* A1 */
		m++;
		if					/* A2, A3 */
		:: ready == taken ->
			ready = 1 - ready;
			if				/* P2, P3, P4 */
			:: sleepers > 0 && arming != kicked ->
				kicked = arming;
				bell++
			:: else -> skip
			fi
		:: else -> skip
		fi
	:: else -> break
	od;
	/* Closed once all is taken; the close rings the bell. */
	(taken_total == MSGS);
	closed = 1;
	bell++
}

/*
 * Locals are reset as soon as they are dead, and steps that touch only
 * locals are folded into the shared access next to them: neither changes
 * what other processes can see, and both keep the state space small.
 */
proctype receiver(byte id; byte limit)
{
	byte got = 0, seen = 0;
	bit islocal, found, armed, more, r, t, tok, mark;

attempt:
#if BUG_STALE_READY || BUG_CAS_TAKE
	/*
	 * take_attention() by compare-and-swap, every thread at once: a token
	 * in the work count, then the CAS of C2; BUG_STALE_READY reads ready
	 * first and keeps it across a failed CAS, BUG_CAS_TAKE reads taken,
	 * then ready, both again after a failed CAS.
	 */
#if BUG_STALE_READY
	r = ready;
ta:
	t = taken;
#else
ta:
	t = taken;
	r = ready;
#endif
	if
	:: r != t ->
		if
		:: !tok -> atomic { work++; tok = 1 }
		:: else -> skip
		fi;
		if
		:: atomic { taken == t -> taken = r; mark = 1; r = 0; t = 0 }
		:: atomic { taken != t -> skip }; goto ta
		fi
	:: else -> atomic { r = 0; t = 0 }
	fi;
	if
	:: tok ->
		atomic { if :: mark -> pend = 1 :: else -> skip fi; work--;
			 tok = 0; mark = 0 }
	:: else -> skip
	fi;
#else
	/*
	 * take_attention(): a look without the lock (taken, then ready);
	 * with attention, counted at work, then the try-lock; the sole taker
	 * reads taken and ready again, flips (C2), marks the lane pending in
	 * the step that ends its work, and lets the lock go.
	 */
	t = taken;
	r = ready;
	if
	:: r != t ->
		atomic { r = 0; t = 0 };
#if !BUG_NO_TOKEN
		work++;
#endif
		if
		:: atomic { taking == 0 -> taking = 1 } ->
			t = taken;
			r = ready;
			if
			:: r != t -> atomic { taken = r; mark = 1 }
			:: else -> skip
			fi;
#if BUG_NO_TOKEN
			atomic { if :: mark -> pend = 1 :: else -> skip fi;
				 mark = 0; r = 0; t = 0 };
#else
			atomic { if :: mark -> pend = 1 :: else -> skip fi;
				 work--; mark = 0; r = 0; t = 0 };
#endif
			taking = 0
		:: atomic { taking == 1 -> islocal = 1 };
#if !BUG_NO_TOKEN
			work--
#else
			skip
#endif
		fi
	:: else -> atomic { r = 0; t = 0 }
	fi;
#endif
	/* the candidate lane: claim it, or note that someone has it */
	if
	:: pend ->
		if
		:: atomic { claim == 0 -> claim = 1 } ->
#if BUG_SPLIT_CLAIM
			pend = 0;
			work++;
#else
			atomic { pend = 0; work++ };
#endif
			ltail = tail;			/* C3, refresh_tail() */
			if
			:: head < ltail ->
				head++;			/* the message at head */
				taken_total++;
				assert(taken_total == head);
				got++;
				found = 1
			:: else -> skip
			fi;
			atomic { more = head < ltail; claim = 0 }	/* release ... */
			atomic { if :: more -> pend = 1 :: else -> skip fi;
				 work--; more = 0 }	/* ... then rxs */
		:: claim == 1 -> islocal = 1
		fi
	:: else -> skip
	fi;
	if
	:: found -> found = 0; goto progress
	:: else -> skip
	fi;
#if !BUG_NO_RXS_CHECK
	/* rxs, read after the attention words */
	if
	:: pend || work > 0 -> islocal = 1
	:: else -> skip
	fi;
#endif
	/* try_drained(): closed, and the lane empty under a claim? */
	if
	:: closed && !islocal ->
		if
		:: atomic { claim == 0 -> claim = 1 } ->
			atomic { pend = 0; work++ };
			ltail = tail;
			atomic { more = head < ltail; claim = 0 };
			atomic { if :: more -> pend = 1 :: else -> skip fi;
				 work-- };
			if
			:: more -> more = 0; goto attempt
			:: else -> goto leave		/* -EPIPE */
			fi
		:: claim == 1 -> islocal = 1
		fi
	:: else -> skip
	fi;
	/* l3l2q__chan_wait(): nothing taken */
	if
	:: !armed ->
#if BUG_NO_ARM
		atomic { seen = bell; sleepers++; armed = 1; islocal = 0 };
#else
		atomic { seen = bell; sleepers++; arming++; armed = 1;
			 islocal = 0 };			/* W1 */
#endif
		goto attempt				/* W3 */
	:: else -> skip
	fi;
	if
	:: islocal ->
		/*
		 * A nap: it ends at a peer event or at its bound; the bound
		 * is there for the threads of this side at work, which never
		 * block while at work, so here it ends once none is (and the
		 * lane and the taker's lock are free: a claim is counted just
		 * after it is taken, a taker just before it takes its lock).
		 */
		(bell != seen || (work == 0 && claim == 0 && taking == 0))
	:: else ->
wait:		(bell != seen)				/* W4, the WAIT */
	fi;
	atomic { sleepers--; armed = 0; seen = 0; islocal = 0 };	/* W5 */
	goto attempt;

progress:
	if
	:: armed -> atomic { sleepers--; armed = 0; seen = 0; islocal = 0 }
	:: else -> islocal = 0
	fi;
	if
	:: got < limit -> goto attempt
	:: else -> skip
	fi;
leave:
	if
	:: armed -> sleepers--
	:: else -> skip
	fi
}

init
{
	byte i;

	atomic {
		run receiver(0, LIMIT0);
		i = 1;
		do
		:: i < NRECV -> run receiver(i, MSGS); i++
		:: else -> break
		od
	}
}
