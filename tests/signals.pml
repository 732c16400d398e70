/* SPDX-License-Identifier: MIT
 *
 * A Promela model of the signals' waking protocol, the target-crossing
 * rule (uapi/l3l2q_signals.h, "Waking"), checked by tests/spin_check.sh
 * with spin for: no lost wakeup, no deadlock, the data published before a
 * matched value seen with it.
 *
 * What is modelled
 * ----------------
 * One signal slot, two processes:
 *
 *   notifier  stores a sequence of NV values into the slot (N1), each
 *             after a data word of the same value; after each it fences
 *             (N2), reads the waiter's table entry (N3) and kicks if the
 *             value crosses the waiter's target, once per arming (N4),
 *             recording the arming in its kicked word first.
 *   waiter    waits (compare GE) for a target, or two in turn; it checks,
 *             arms its entry (W1: target, seen, then arm), fences (W2),
 *             re-checks (W3), sleeps (W4) and, after any wake-up,
 *             re-checks and re-arms (W5).
 *
 * The values either only grow (1, 2, .. NV; targets 2 then NV) or, with
 * NONMONO, flip between 2 and 0 (2, 0, 2, .. ending on 2; target 2): a
 * state word that is set and reset, where a kick can come and the value
 * be gone again before the waiter registers its sleep.
 *
 * Weak memory: as tests/wakeup.pml, every store goes through its
 * process's FIFO store buffer, drained at any time by "memory"; a load
 * sees its own buffered store first (x86-TSO, whose one relaxation,
 * store->load, is what W2/N2 are for).  A full fence waits for the
 * buffer to drain.  A kick is a system call that takes the wait queue's
 * lock: it drains the notifier's buffer first (the lock's release orders
 * the kicked word before the wake-up on every architecture).
 *
 * The sleep (W4) is the kernel's wait command (K1 register, K2 re-check,
 * K3 sleep until kicked; never back to sleep after a kick), or with
 * EVENTFD a read of an eventfd that a kick leaves readable (nothing is
 * re-checked in the kernel).  K2 returns if the slot's value is ready,
 * differs from the value the waiter last saw (W3), or the kicked word
 * names the waiter's arming.
 *
 * Properties
 * ----------
 *   1. No deadlock: the only valid end state is both processes finished
 *      (pan -A).
 *   2. No lost wakeup, checked in every reachable state by "monitor": the
 *      waiter is never asleep, not woken, while the slot holds a value
 *      that satisfies its target and the notifier owes no kick
 *      (kick_due: it stored a value and has not yet decided at N3/N4).
 *   3. Each arming is kicked at most once, and only for a ready value;
 *      with growing values, the data word read after a matched wait is at
 *      least the matched value (the publish/observe pairing).
 *
 * Variants (-D), each of which must fail:
 *   BUG_NO_W2      the waiter has no full fence between W1 and W3
 *   BUG_NO_N2      the notifier has no full fence between N1 and N3
 *   BUG_NO_RECHECK the kernel's wait does not re-check after registering
 *   BUG_NO_KICKED  K2 ignores the kicked word (NONMONO: a kick that came
 *                  before K1 for a value since reset is lost, and the
 *                  next ready value is not kicked: the arming was spent;
 *                  with growing values it passes, the value check is
 *                  enough there)
 * Sizes: NV (default 3) values.
 */

#ifndef NV
#define NV		3
#endif
#ifndef NONMONO
#define NONMONO		0
#endif
#ifndef EVENTFD
#define EVENTFD		0
#endif
#ifndef BUG_NO_W2
#define BUG_NO_W2	0
#endif
#ifndef BUG_NO_N2
#define BUG_NO_N2	0
#endif
#ifndef BUG_NO_RECHECK
#define BUG_NO_RECHECK	0
#endif
#ifndef BUG_NO_KICKED
#define BUG_NO_KICKED	0
#endif

/* processes with a store buffer */
#define N	0		/* notifier */
#define W	1		/* waiter */

/* shared memory locations */
#define VAL	0		/* the slot, written by N */
#define DATA	1		/* a data word, written by N before VAL */
#define KICKED	2		/* N's kicked word for W's entry */
#define TGT	3		/* W's entry: target */
#define SEEN	4		/* W's entry: the value it saw */
#define ARM	5		/* W's entry: arming * 2 + armed */
#define NLOC	6

#define SB	3		/* store-buffer entries per process */

/* the value of the i-th notify (1-based) */
#define VALUE(i)	(NONMONO -> ((i) % 2 == 1 -> 2 : 0) : (i))
/* the compare: GE */
#define READY(v, t)	((v) >= (t))

byte mem[NLOC];

byte sb_n[2];
byte sb_loc[2 * SB];
byte sb_val[2 * SB];

/* the kernel's view of the waiter */
bit reg;			/* registered on the wait queue (K1) */
bit woken;			/* kicked since it registered / eventfd readable */
bit asleep;			/* committed to sleep (K3) */
byte wtgt;			/* the target it sleeps for */

/* ghost: N stored a value and has not decided about it yet (N3/N4) */
bit kick_due;
/* ghost: the arming N kicked last, as N itself believes (for property 3) */
byte ghost_kicked;

inline store(p, loc, val)
{
	d_step {
		sb_n[p] < SB;
		sb_loc[p * SB + sb_n[p]] = loc;
		sb_val[p * SB + sb_n[p]] = val;
		sb_n[p]++
	}
}

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

inline fence(p)
{
	sb_n[p] == 0
}

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

/* KICK: the lock orders N's earlier stores; wake a registered waiter, or
 * (EVENTFD) leave the eventfd readable. */
inline kick()
{
	fence(N);
	atomic {
		if
		:: reg || EVENTFD -> woken = 1
		:: else
		fi;
		kick_due = 0
	}
}

/* W4: sleep for target t, having seen s (W3) with arming a. */
inline kwait(t, s, a)
{
	if
	:: EVENTFD ->
		d_step { wtgt = t; asleep = 1 };
		d_step { woken -> asleep = 0; woken = 0 }
	:: BUG_NO_RECHECK ->
		/* test, register, then sleep unconditionally */
		if
		:: READY(mem[VAL], t) || mem[VAL] != s
		:: else ->
			d_step { reg = 1; woken = 0; wtgt = t; asleep = 1 };
			d_step { woken -> asleep = 0; reg = 0; woken = 0 }
		fi
	:: else ->
		/* K1 */
		d_step { reg = 1; woken = 0; wtgt = t };
		/* K2: each word read once */
		if
		:: d_step {
			(READY(mem[VAL], t) || mem[VAL] != s ||
			 (!BUG_NO_KICKED && mem[KICKED] == a)) ->
			reg = 0; woken = 0
		   }
		:: d_step {
			!(READY(mem[VAL], t) || mem[VAL] != s ||
			  (!BUG_NO_KICKED && mem[KICKED] == a)) ->
			asleep = 1
		   };
			/* K3: until kicked; return (never sleep again here) */
			d_step { woken -> asleep = 0; reg = 0; woken = 0 }
		fi
	fi
}

#define LOST	(asleep && !woken && READY(mem[VAL], wtgt) && !kick_due)

active proctype notifier()
{
	byte n = 0;		/* values stored */
	byte x, a, t, s, k, i;

	do
	:: n == NV -> break
	:: else ->
		n++;
		x = VALUE(n);
		store(N, DATA, x);
N1:		atomic { store(N, VAL, x); kick_due = 1 };	/* release */
		if
		:: BUG_NO_N2 -> skip
		:: else -> N2: fence(N)
		fi;
		/* N3: arm (acquire), then target and seen; our kicked word */
N3:		atomic {
			load(N, ARM, a);
			load(N, TGT, t);
			load(N, SEEN, s);
			load(N, KICKED, k);
			if
			:: (a % 2) && READY(x, t) && !READY(s, t) && a != k -> skip
			:: else -> kick_due = 0
			fi
		};
N4:		if
		:: (a % 2) && READY(x, t) && !READY(s, t) && a != k ->
			assert(a != ghost_kicked);	/* once per arming */
			ghost_kicked = a;
			store(N, KICKED, a);		/* release */
			kick()
		:: else
		fi;
		a = 0; t = 0; s = 0; k = 0
	od
}

active proctype waiter()
{
	byte arm = 0;		/* W's arming count */
	byte tgt;		/* the target of the current wait */
	byte waits = 0;
	byte v, seen, d, i;

	do
	:: waits == (NONMONO -> 1 : 2) -> break
	:: else ->
		tgt = (waits == 0 -> 2 : NV);
		waits++;
		load(W, VAL, v);
		do
		:: READY(v, tgt) -> break
		:: else ->
W1:			arm++;
			seen = v;
			store(W, TGT, tgt);
			store(W, SEEN, seen);
			store(W, ARM, arm * 2 + 1);		/* release */
			if
			:: BUG_NO_W2 -> skip
			:: else -> W2: fence(W)
			fi;
W3:			load(W, VAL, v);
			if
			:: READY(v, tgt)
			:: else ->
W4:				kwait(tgt, v, arm * 2 + 1);
				/* W5: re-check; the next round re-arms */
				load(W, VAL, v)
			fi
		od;
		/* matched (acquire): the data stored before it is visible */
		load(W, DATA, d);
		assert(NONMONO || d >= v);
		store(W, ARM, arm * 2)				/* disarm */
	od
}

active proctype memory()
{
	byte j;

end:	do
	:: drain_one(N)
	:: drain_one(W)
	od
}

active proctype monitor()
{
	assert(!LOST)
}
