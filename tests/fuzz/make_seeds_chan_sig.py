#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# Writes the seed corpora of fuzz_chan and fuzz_sig
# (tests/fuzz/corpus/<harness>/).  Committed; run again only after
# changing either script format.  Each corpus has honest traffic, hostile
# writes of each kind, and a "blind-*" seed whose hostile write lands in an
# honestly sent message before the side under test takes it: with
# FUZZ_BLIND=1 the harness must report it (tests/fuzz_check.sh).
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def u8(v):
    return bytes([v & 0xFF])


def u16(v):
    return struct.pack("<H", v & 0xFFFF)


def u32(v):
    return struct.pack("<I", v & 0xFFFFFFFF)


def write(harness, name, data):
    d = os.path.join(HERE, "corpus", harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- fuzz_chan: op % 20 < 9 the SUT, < 17 the peer, else hostile ----
# geometry byte: bit 0 SUT (0 L3, 1 L2), lanes_to_l2 1 + (g>>1)%3,
# lanes_to_l3 1 + (g>>3)%3, depth [2,4,8][(g>>5)%3]
LEASE, UNLEASE, SEND, ZC, FLUSH, RECV, PEEK, WAKE, CLOSE = range(9)
TRY_SEND, DEFER = 0x10, 0x20


def chan_hdr(sut_l2, start=0, max_bytes=64):
    g = next(g for g in range(256) if g & 1 == (1 if sut_l2 else 0) and
             (g >> 1) % 3 == 1 and (g >> 3) % 3 == 1 and (g >> 5) % 3 == 1)
    # 2 lanes each way, depth 4
    return u8(g) + u8(max_bytes - 1) + u32(start) + u8(start >> 32)


def sut(op, b=0, sel=0, n=0):
    return u8(op) + u8(b) + u8(sel) + u16(n)


def peer(op, b=0, sel=0, n=0):
    return u8(9 + op) + u8(b) + u8(sel) + u16(n)


def hostile(kind, tx, lane, rest):
    return u8(17) + u8(kind) + u8(tx) + u8(lane) + rest


def chan_traffic(side_a, side_b):
    s = side_a(LEASE, 0, 0) + side_b(LEASE, 0, 0)
    for i in range(6):
        s += side_b(SEND, TRY_SEND, 0, 5 + i * 7)
        s += side_b(ZC, 0, 0) + side_b(ZC, 2 * (i & 1), 1, 17 + i)
        s += side_a(RECV, 2, i & 1) + side_a(PEEK, 0, 0) + side_a(PEEK, 0, 0)
        s += side_a(SEND, DEFER, 0, 3 + i) + side_a(FLUSH, 0, 0)
        s += side_b(RECV, 2, 1) + side_b(PEEK, 0, 0) + side_b(PEEK, 0, 0)
        s += side_a(RECV, 1, 0, 2)  # a buffer too small: -EMSGSIZE
    s += side_a(SEND, 0, 0, 300) + side_a(UNLEASE) + side_a(WAKE, 1)
    return s


def chan_seeds():
    h = "fuzz_chan"
    write(h, "honest-l3", chan_hdr(0) + chan_traffic(sut, peer))
    write(h, "honest-l2", chan_hdr(1, 0xFFFFFFFD) + chan_traffic(sut, peer))
    # hostile: tails, heads, descriptor fields, control words, header
    s = chan_hdr(0) + sut(LEASE) + peer(LEASE)
    for i in range(4):
        s += peer(SEND, TRY_SEND, 0, 9)
        s += hostile(1, 1, 0, u8(1) + u8(1 if i & 1 else -1))
        s += sut(RECV, 2)
        s += peer(SEND, TRY_SEND, 0, 9)
        s += hostile(2, 1, 0, u8(-1) + u32(300) + u8(0) + u8(1))
        s += sut(PEEK) + sut(PEEK)
    write(h, "hostile-lane", s)
    s = chan_hdr(1) + sut(LEASE) + peer(LEASE)
    for i in range(4):
        s += peer(SEND, TRY_SEND, 0, 4)
        s += hostile(3, 0, 0, u8(i) + u8(i) + u8(1) + u32(0xFFFFFFFF))
        s += sut(SEND, TRY_SEND, 0, 4) + sut(RECV, 2)
        s += hostile(4, 0, 0, u8(i) + u8(0) + u8(2))
        s += sut(RECV, 0) + sut(SEND, 0, 0, 4)
    s += hostile(5, 0, 0, u8(1) + u8(1)) + sut(RECV, 2) + sut(RECV, 2)
    write(h, "hostile-ctrl", s)
    # blind: a byte of a sent message's payload changed before the take.
    # SUT L3: the peer (L2) sends on lane 0 of L2 -> L3, position 0.
    # region offset = 4096 + to_l3_offset + 64 (lane header) + 32 (data)
    lane_bytes = 64 + 4 * 320
    off = 4096 + 128 + 2 * lane_bytes + 64 + 32
    s = chan_hdr(0) + peer(LEASE) + peer(SEND, TRY_SEND, 0, 10)
    s += hostile(0, 0, 0, u16(off) + u8(0) + u8(0x5A))
    s += sut(RECV, 2)
    write(h, "blind-payload", s)
    # calls: the peer answers from env.sleep while the SUT waits
    for sut_l2 in (0, 1):
        s = chan_hdr(sut_l2) + sut(LEASE) + peer(LEASE)
        for i in range(5):
            s += sut(CLOSE, 11 + 4 * i, i, 4 + i * 9)
            s += peer(SEND, TRY_SEND | 8, 0, 3)  # a reply nobody waits for
            s += sut(RECV, 2) + sut(RECV, 2)
        write(h, "call-l2" if sut_l2 else "call-l3", s)


# ---- fuzz_sig: op % 20 < 9 the SUT, < 18 the peer, else hostile ----
# geometry byte: bit 0 SUT (0 L3, 1 L2), bit 1 monotonic region,
# signal_count 1 + (g >> 2) % 8; then u16 data_bytes - 1
WRITE, READ, SET, ADD, MONO, WAIT1, WAITV, ARM, SCLOSE = range(9)


def sig_hdr(sut_l2, mono=0, count=2, data_bytes=256):
    g = (1 if sut_l2 else 0) | (2 if mono else 0) | (count - 1) << 2
    return u8(g) + u16(data_bytes - 1)


def val(v):
    if v < 0x80:
        return u8(v)
    return u8(0x80) + u16(v >> 48) + u16(v >> 16) + u16(v)


def s_op(op, b=0, sid=0, v=0, rest=b""):
    return u8(op) + u8(b) + u8(sid) + val(v) + rest


def p_op(op, b=0, sid=0, v=0, rest=b""):
    return s_op(9 + op, b, sid, v, rest)


def data(off, n):
    return u16(off) + u16(n)


def sig_traffic(a, p):
    s = b""
    for i in range(4):
        s += a(WRITE, i, 0, 0, data(i * 8, 32)) + p(READ, 0, 0, 0, data(0, 64))
        s += a(MONO, 0, 0, i + 1) + p(WAIT1, 0, 0, i + 1)  # GE
        s += p(ADD, 0, 1, 3) + a(WAIT1, 0x10 | 1, 1, 3 * (i + 1))  # EQ, wait
        s += a(WAITV, 0 | 1, 0, 1) + a(WAITV, 4 | 1, 0, 1)  # any, all
        s += a(WAITV, 8 | 2, 0, 1) + a(WAITV, 12 | 2, 0, 1)
        s += a(ARM, 1, 1, 100) + p(SET, 0, 1, 0x123456789)
        s += a(MONO, 0, 0, 0) + a(SET, 0, 2, 1) + a(READ, 0, 0, 0, data(250, 9))
    return s


def sig_seeds():
    h = "fuzz_sig"
    write(h, "honest-l3", sig_hdr(0) + sig_traffic(s_op, p_op))
    write(h, "honest-l2-mono", sig_hdr(1, 1, 3) + sig_traffic(s_op, p_op))
    s = sig_hdr(0, 0, 4)
    for i in range(4):
        s += s_op(MONO, 0, i % 4, 10 + i)
        s += u8(18) + u8(1) + u8(i) + val(i)  # the slot set back
        s += s_op(WAIT1, 0, i % 4, 10) + s_op(MONO, 0, i % 4, 11 + i)
        s += u8(18) + u8(2) + u8(i) + u8(i & 1) + u8(4) + u8(0) + u8(0x31)
        s += u8(18) + u8(3) + u8(i) + u8(4 + (i & 1)) + u8(1)  # abort
        s += s_op(WAITV, 8, i, 99) + s_op(WAIT1, 0x10, i, 99)
        s += u8(18) + u8(4) + u8(i) + u8(i * 3) + val(0xFFFFFFFF)
    s += p_op(SCLOSE, 1) + s_op(WAIT1, 0x10, 0, 1000) + s_op(SCLOSE, 0)
    s += s_op(READ, 0, 0, 0, data(0, 1))
    write(h, "hostile", s)
    # blind: a data byte the SUT wrote, changed before it reads it back
    # data area: hdmem_offset (4096 + 2 tables of 4096) + align64(128 + 64 * 2)
    doff = 4096 + 2 * 4096 + 256
    s = sig_hdr(0) + s_op(WRITE, 1, 0, 0, data(0, 16))
    s += u8(18) + u8(0) + u8(0) + u16(doff + 3) + u8(0) + u8(0xEE)
    s += s_op(READ, 0, 0, 0, data(0, 16))
    write(h, "blind-data", s)


if __name__ == "__main__":
    chan_seeds()
    sig_seeds()
