// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness: one handle of a signals region (HDMEM, lib/core/
 * signals*.c) facing a hostile peer.  The first byte picks the role under
 * test (the SUT) and the geometry; the peer is the library's own handle of
 * the other role, driven honestly by the script, plus hostile writes
 * anywhere in the region (control block, both waiter tables, the HDMEM
 * header, the slots, the data area).  tests/fuzz/README lists the
 * invariants; they are checked after every call of the SUT.
 *
 * The harness keeps a model of every slot (its value, while only honest
 * calls wrote it) and of every data byte; a hostile write into a slot or a
 * byte makes it unknown until an honest call writes it again.  The bytes
 * after the data area are poisoned for ASan, so a read or write beyond it
 * is a sanitizer report.
 *
 * FUZZ_BLIND=1: hostile writes are not recorded (the negative control of
 * tests/fuzz_check.sh: a hostile write into the data area must then be
 * reported as a wrong byte).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sanitizer/asan_interface.h>

#include "l3l2q_signals_core.h"
#include "fuzz_script.h"

#define FS_MAX_OPS	1500u
#define FS_MAX_SLOTS	8u
#define FS_MAX_DATA	512u

static uint64_t u64v(struct fz_in *in)
{
	/* small values mostly, so that compares and crossings happen */
	uint8_t k = fz_u8(in);

	if (k & 0x80)
		return (uint64_t)fz_u16(in) << 48 | (uint64_t)fz_u16(in) << 16 | fz_u16(in);
	return k;
}


struct fs {
	struct l3l2q_sig_layout layout;
	struct l3l2q_sig_mem mem;
	unsigned char *base;
	uint64_t clock;
	int blind;
	struct l3l2q_sig h[2];		/* by role */
	int sut;
	int closed[2];
	uint32_t count;
	uint64_t data_bytes;
	int mono_region;
	/* the model */
	int known[FS_MAX_SLOTS];
	uint64_t val[FS_MAX_SLOTS];
	/* the SUT's last monotonic notify of the slot, while only the SUT's
	 * monotonic notifies wrote it since */
	int mono[FS_MAX_SLOTS];
	uint64_t mono_val[FS_MAX_SLOTS];
	uint8_t dknown[FS_MAX_DATA];
	uint8_t dval[FS_MAX_DATA];
};

static __u64 fs_now(void *ctx)
{
	struct fs *f = ctx;

	f->clock += 1000;
	return f->clock;
}

static int fs_sleep(void *ctx, const struct l3l2q_sig_waitv *v, __u32 n,
		    __u64 deadline)
{
	struct fs *f = ctx;
	__u32 i, armed = 0;

	/* What the core sleeps for is its own private, checked waitv. */
	if (!n || n > L3L2Q_SIG_WAITV_MAX)
		fz_fail("env.sleep for %u entries", n);
	for (i = 0; i < n; i++) {
		if (v[i].id >= f->count)
			fz_fail("env.sleep for slot %u of %u", v[i].id, f->count);
		armed += v[i].arm != 0;
	}
	if (!armed)
		fz_fail("env.sleep with no entry armed");
	if (deadline > f->clock && deadline - f->clock < 1000000000ull)
		f->clock = deadline;
	else
		f->clock += 1000000;
	return -ETIMEDOUT;
}

static void fs_kick(void *ctx, __u32 role, __u32 id)
{
	(void)ctx;
	(void)role;
	(void)id;
}

static uint64_t slot_off(const struct fs *f, uint32_t id)
{
	return f->layout.hdmem_offset + L3L2Q_HDMEM_HDR_BYTES +
	       (uint64_t)id * L3L2Q_HDMEM_SLOT_BYTES;
}

static uint64_t data_off(const struct fs *f)
{
	return f->layout.hdmem_offset + f->layout.hdmem.data_offset;
}

static int setup(struct fs *f, struct fz_in *in)
{
	struct l3l2q_sig_env env;
	uint8_t g = fz_u8(in);
	uint64_t end;
	int r;

	memset(f, 0, sizeof(*f));
	f->sut = g & 1;
	f->blind = getenv("FUZZ_BLIND") != NULL;
	f->mono_region = (g >> 1) & 1;
	f->count = 1 + (g >> 2) % FS_MAX_SLOTS;
	f->data_bytes = 1 + fz_u16(in) % FS_MAX_DATA;
	if (l3l2q_sig_layout(f->data_bytes, f->count, 0,
			     f->mono_region ? L3L2Q_SIG_F_MONOTONIC : 0,
			     &f->layout) != L3L2Q_SIG_LAYOUT_OK)
		return -1;
	f->base = aligned_alloc(L3L2Q_REGION_ALIGN, f->layout.total_bytes);
	if (!f->base)
		return -1;
	memset(f->base, 0xa5, f->layout.total_bytes);
	f->mem.ctrl = f->base;
	f->mem.hdmem = f->base + f->layout.hdmem_offset;
	f->mem.region_id = 1;
	if (l3l2q_sig_region_init(&f->mem, &f->layout, 0))
		fz_fail("region_init of a valid layout failed");
	/* Past the data area: nobody's bytes (ASan reports any access). */
	end = data_off(f) + f->data_bytes;
	ASAN_POISON_MEMORY_REGION(f->base + end, f->layout.total_bytes - end);
	memset(&env, 0, sizeof(env));
	env.now_ns = fs_now;
	env.sleep = fs_sleep;
	env.kick = fs_kick;
	env.ctx = f;
	env.spin_attempts = 4;
	for (r = 0; r < 2; r++)
		if (l3l2q_sig_init(&f->h[r], r, &f->mem, &f->layout, &env))
			fz_fail("init of a valid layout failed: %s",
			     l3l2q_sig_last_error(&f->h[r])->message);
	for (r = 0; r < (int)FS_MAX_SLOTS; r++)
		f->known[r] = 1;	/* region_init zeroes every slot */
	memset(f->dknown, 1, sizeof(f->dknown));	/* and the data */
	return 0;
}

static void teardown(struct fs *f)
{
	if (f->base)
		ASAN_UNPOISON_MEMORY_REGION(f->base, f->layout.total_bytes);
	free(f->base);
}

/* Invariant 1 (and 4: closed is terminal) for a SUT call. */
static void result(struct fs *f, const char *call, int ret, const int *ok)
{
	int i;

	if (f->closed[f->sut]) {
		if (ret != -ESHUTDOWN)
			fz_fail("%s returned %d after close", call, ret);
		return;
	}
	if (ret == 0)
		return;
	for (i = 0; ok[i]; i++)
		if (ret == ok[i])
			return;
	fz_fail("%s returned %d, which its page does not list here (%s)", call,
	     ret, l3l2q_sig_last_error(&f->h[f->sut])->message);
}

static int cmp_true(uint32_t cmp, uint64_t v, uint64_t t)
{
	return cmp == L3L2Q_SIG_CMP_GE ? v >= t :
	       cmp == L3L2Q_SIG_CMP_EQ ? v == t : v != t;
}

/* Invariant 2/3: what role @r read of slot @id agrees with the model. */
static void observed(struct fs *f, int r, const char *call, uint32_t id,
		     uint64_t v)
{
	if (f->known[id] && v != f->val[id])
		fz_fail("%s: role %d read %llu in slot %u, which holds %llu", call,
		     r, (unsigned long long)v, id,
		     (unsigned long long)f->val[id]);
	if (r == f->sut && f->mono[id] && v < f->mono_val[id])
		fz_fail("%s: slot %u went back from %llu (the SUT's monotonic notify) to %llu",
		     call, id, (unsigned long long)f->mono_val[id],
		     (unsigned long long)v);
}

static void set_model(struct fs *f, int r, uint32_t id, uint64_t v, int mono)
{
	f->known[id] = 1;
	f->val[id] = v;
	if (r == f->sut && mono) {
		f->mono[id] = 1;
		f->mono_val[id] = v;
	} else {
		f->mono[id] = 0;
	}
}

static const int e_inval[] = { -EINVAL, 0 };
static const int e_try[] = { -EAGAIN, -ECONNRESET, -EINVAL, 0 };
static const int e_wait[] = { -ETIMEDOUT, -ECONNRESET, -EINVAL, 0 };

static unsigned char buf[FS_MAX_DATA + 64];

static void side_op(struct fs *f, struct fz_in *in, int r, uint8_t op)
{
	struct l3l2q_sig *s = &f->h[r];
	int sut = r == f->sut, ret, live = !f->closed[r];
	uint8_t b = fz_u8(in);
	/* ids mostly valid, sometimes one past the end */
	uint32_t id = fz_u8(in) % (f->count + 1), cmp = 1 + b % 3, i, n;
	__u64 res;
	uint64_t v = u64v(in), off, len, dl = f->clock + 1000 * (b % 4);
	int bad_id = id >= f->count;
	struct l3l2q_sig_waitv w[4];
	const char *call;

#define RES(name, e)							\
	do {								\
		if (sut)						\
			result(f, name, ret, e);			\
	} while (0)
	switch (op) {
	case 0:		/* data write */
	case 1:		/* data read */
		off = fz_u16(in) % (f->data_bytes + 8);
		len = fz_u16(in) % (f->data_bytes + 8);
		if (op == 0) {
			for (i = 0; i < len && i < sizeof(buf); i++)
				buf[i] = (uint8_t)(b + i * 7);
			ret = l3l2q_sig_write(s, off, buf, len);
			call = "sig_write";
		} else {
			ret = l3l2q_sig_read(s, off, buf, len);
			call = "sig_read";
		}
		RES(call, e_inval);
		if (live && (ret == -EINVAL) != (off > f->data_bytes ||
						 len > f->data_bytes - off))
			fz_fail("%s(%llu, %llu) of %llu data bytes: %d", call,
			     (unsigned long long)off, (unsigned long long)len,
			     (unsigned long long)f->data_bytes, ret);
		if (ret)
			break;
		for (i = 0; i < len; i++) {
			if (op == 0) {
				f->dknown[off + i] = 1;
				f->dval[off + i] = buf[i];
			} else if (f->dknown[off + i] &&
				   f->dval[off + i] != buf[i]) {
				fz_fail("role %d read data byte %llu as %u, written %u",
				     r, (unsigned long long)(off + i), buf[i],
				     f->dval[off + i]);
			}
		}
		break;
	case 2:		/* set */
	case 4:		/* monotonic */
		call = op == 2 ? "sig_notify" : "sig_notify_monotonic";
		ret = op == 2 ? l3l2q_sig_notify(s, id, v) :
		      l3l2q_sig_notify_monotonic(s, id, v);
		RES(call, e_inval);
		if (!live)
			break;
		if (bad_id) {
			if (ret != -EINVAL)
				fz_fail("%s of slot %u of %u: %d", call, id,
				     f->count, ret);
			break;
		}
		if (op == 4 || f->mono_region) {
			if (f->known[id] && (ret == -EINVAL) != (v < f->val[id]))
				fz_fail("%s(%llu) over %llu: %d", call,
				     (unsigned long long)v,
				     (unsigned long long)f->val[id], ret);
		} else if (ret) {
			fz_fail("%s: %d", call, ret);
		}
		if (!ret)
			set_model(f, r, id, v, op == 4 || f->mono_region);
		break;
	case 3:		/* add */
		ret = l3l2q_sig_notify_add(s, id, v, &res);
		RES("sig_notify_add", e_inval);
		if (!live)
			break;
		if ((ret == -EINVAL) != bad_id || (ret && ret != -EINVAL))
			fz_fail("sig_notify_add of slot %u of %u: %d", id,
			     f->count, ret);
		if (ret)
			break;
		if (f->known[id] && res != f->val[id] + v)
			fz_fail("sig_notify_add: %llu + %llu gave %llu",
			     (unsigned long long)f->val[id],
			     (unsigned long long)v, (unsigned long long)res);
		set_model(f, r, id, res, 0);
		break;
	case 5:		/* one slot: try_wait or a wait that cannot block */
		res = ~0ull;
		if (b & 0x10) {
			call = "sig_wait";
			ret = l3l2q_sig_wait(s, id, cmp, v, dl, &res);
			RES(call, e_wait);
		} else {
			call = "sig_try_wait";
			ret = l3l2q_sig_try_wait(s, id, cmp, v, &res);
			RES(call, e_try);
		}
		if (!live)
			break;
		if ((ret == -EINVAL) != bad_id)
			fz_fail("%s of slot %u of %u: %d", call, id, f->count, ret);
		if (bad_id)
			break;
		observed(f, r, call, id, res);
		if (!cmp_true(cmp, res, v) != !!ret)
			fz_fail("%s: returned %d for value %llu, cmp %u, target %llu",
			     call, ret, (unsigned long long)res, cmp,
			     (unsigned long long)v);
		break;
	case 6: {	/* many slots */
		n = 1 + b % 4;
		for (i = 0; i < n; i++) {
			memset(&w[i], 0, sizeof(w[i]));
			w[i].id = (id + i * (1 + (b >> 6))) % (f->count + (b >> 7));
			w[i].cmp = 1 + (b + i) % 3;
			w[i].target = v + i;
		}
		switch ((b >> 2) & 3) {
		case 0:
			call = "sig_try_wait_any";
			ret = l3l2q_sig_try_wait_any(s, w, n);
			break;
		case 1:
			call = "sig_try_wait_all";
			ret = l3l2q_sig_try_wait_all(s, w, n);
			break;
		case 2:
			call = "sig_wait_any";
			ret = l3l2q_sig_wait_any(s, w, n, dl);
			break;
		default:
			call = "sig_wait_all";
			ret = l3l2q_sig_wait_all(s, w, n, dl);
			break;
		}
		if (sut && ret > 0 && !f->closed[r]) {
			if (((b >> 2) & 3) != 0 && ((b >> 2) & 3) != 2)
				fz_fail("%s returned %d", call, ret);
			if ((uint32_t)ret >= n)
				fz_fail("%s returned index %d of %u", call, ret, n);
		} else {
			RES(call, (b >> 2) & 2 ? e_wait : e_try);
		}
		if (!live || ret == -EINVAL)
			break;
		for (i = 0; i < n; i++) {
			if (w[i].id >= f->count)
				fz_fail("%s took slot %u of %u", call, w[i].id,
				     f->count);
			if (!w[i].ready)
				continue;
			observed(f, r, call, w[i].id, w[i].value);
			if (!cmp_true(w[i].cmp, w[i].value, w[i].target))
				fz_fail("%s: entry %u ready with value %llu, cmp %u, target %llu",
				     call, i, (unsigned long long)w[i].value,
				     w[i].cmp,
				     (unsigned long long)w[i].target);
		}
		if (ret >= 0 && ((b >> 2) & 3) != 1 && ((b >> 2) & 3) != 3 &&
		    !w[ret].ready)
			fz_fail("%s returned entry %d, not ready", call, ret);
		if (ret == 0 && ((b >> 2) & 1))
			for (i = 0; i < n; i++)
				if (!w[i].ready)
					fz_fail("%s: 0 with entry %u not ready",
					     call, i);
		break;
	}
	case 7:		/* arm, disarm */
		memset(&w[0], 0, sizeof(w[0]));
		w[0].id = id;
		w[0].cmp = cmp;
		w[0].target = v;
		ret = l3l2q_sig_arm(s, w, 1);
		RES("sig_arm", e_inval);
		if (live && (ret == -EINVAL) != bad_id)
			fz_fail("sig_arm of slot %u of %u: %d", id, f->count, ret);
		if (!ret && (b & 1))
			l3l2q_sig_disarm(s, w, 1);
		break;
	default:	/* rarely: close or abort */
		if (b > 4)
			break;
		if (b & 1)
			l3l2q_sig_abort(s);
		else
			l3l2q_sig_close(s);
		f->closed[r] = 1;
		break;
	}
#undef RES
}

/* ---- hostile writes ---- */

static void forget(struct fs *f, uint64_t off, uint64_t n)
{
	uint64_t i, d = data_off(f);
	uint32_t id;

	if (f->blind)
		return;
	for (id = 0; id < f->count; id++)
		if (off < slot_off(f, id) + 8 && off + n > slot_off(f, id)) {
			f->known[id] = 0;
			f->mono[id] = 0;
		}
	for (i = 0; i < n; i++)
		if (off + i >= d && off + i < d + f->data_bytes)
			f->dknown[off + i - d] = 0;
}

static void hostile_bytes(struct fs *f, uint64_t off, const void *src,
			  uint64_t n)
{
	uint64_t end = data_off(f) + f->data_bytes;

	/* Only the region's real bytes (the padding is poisoned). */
	if (off >= end)
		return;
	if (n > end - off)
		n = end - off;
	memcpy(f->base + off, src, n);
	forget(f, off, n);
}

static const uint32_t ctrl_words[] = {
	L3L2Q_CTRL_L3_STATE, L3L2Q_CTRL_L2_STATE, L3L2Q_CTRL_L3_FEATURES,
	L3L2Q_CTRL_L2_FEATURES, L3L2Q_SIG_CTRL_L3_ABORT,
	L3L2Q_SIG_CTRL_L2_ABORT,
};

static void hostile(struct fs *f, struct fz_in *in, uint8_t kind)
{
	unsigned char b[32];
	uint64_t off, n, i, v;
	uint32_t id = fz_u8(in) % f->count, w;

	switch (kind % 5) {
	case 0:		/* raw bytes anywhere */
		off = fz_u16(in) % (data_off(f) + f->data_bytes);
		n = 1 + fz_u8(in) % 16;
		for (i = 0; i < n; i++)
			b[i] = fz_u8(in);
		hostile_bytes(f, off, b, n);
		break;
	case 1:		/* a slot's value */
		v = u64v(in);
		hostile_bytes(f, slot_off(f, id), &v, 8);
		break;
	case 2:		/* a waiter entry's word, either table */
		off = f->layout.table_offset[fz_u8(in) & 1] +
		      (uint64_t)id * L3L2Q_SIG_WAITER_BYTES + (fz_u8(in) % 8) * 4;
		w = fz_u8(in) & 1 ? (uint32_t)u64v(in) : fz_u8(in);
		hostile_bytes(f, off, &w, 4);
		break;
	case 3:		/* a state, feature or abort word */
		off = ctrl_words[fz_u8(in) % 6];
		w = fz_u8(in) % 4;
		hostile_bytes(f, off, &w, 4);
		break;
	default:	/* an HDMEM header field */
		off = f->layout.hdmem_offset + (fz_u8(in) % 12) * 4;
		w = (uint32_t)u64v(in);
		hostile_bytes(f, off, &w, 4);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size, 0 };
	static struct fs f;
	unsigned int ops = 0;
	uint8_t op;

	if (!setup(&f, &in)) {
		while (in.i < in.n && ops++ < FS_MAX_OPS) {
			op = fz_u8(&in) % 20;
			if (op < 9)
				side_op(&f, &in, f.sut, op);
			else if (op < 18)
				side_op(&f, &in, !f.sut, op - 9);
			else
				hostile(&f, &in, fz_u8(&in));
		}
	}
	teardown(&f);
	return 0;
}
