#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# Writes the seed corpus of the fuzzers (tests/fuzz/corpus/<harness>/).
# The seeds are committed; run this again only after changing a script
# format (fuzz_queue.h, fuzz_l3.c, fuzz_l2.c, fuzz_mailbox.c).  Each
# harness gets honest traffic, hostile writes of each kind, counter wraps,
# STOP, and one seed ("blind-*") in which a hostile write lands in the
# payload of an honestly published message before the side under test
# takes it: with FUZZ_BLIND=1 the harness must report it.
import os
import random
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def u8(v):
    return bytes([v & 0xFF])


def u16(v):
    return struct.pack("<H", v & 0xFFFF)


def u32(v):
    return struct.pack("<I", v & 0xFFFFFFFF)


ARENAS = [64, 128, 192, 256, 512]


def geom(depth_i, in_i, out_i):
    # fz_setup(): depth = g & 3, in = (g >> 2) % 5, out = (g >> 5) % 5
    for g in range(256):
        if g & 3 == depth_i and (g >> 2) % 5 == in_i and (g >> 5) % 5 == out_i:
            return u8(g)
    raise ValueError("no geometry byte for %d %d %d" % (depth_i, in_i, out_i))


def header(depth_i, in_i, out_i, window, start):
    return geom(depth_i, in_i, out_i) + u8(window) + u32(start) + u8(start >> 32)


# Region: 4096 bytes of control block, 4096 of counters, then the payload.
PAYLOAD = 8192


def arenas(depth):
    ring = depth * 32
    in_off = (2 * ring + 63) // 64 * 64
    return in_off


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


# ---- fuzz_l3: ops 0-8 the L3 (b, n16), 9-12 the honest L2, 13-15 hostile
def l3_sut(op, b, n):
    return u8(op) + u8(b) + u16(n)


def l3_peer_publish(b, n):
    return u8(11) + u8(b) + u16(n)


def l3_peer_take():
    return u8(9) + u8(0)


def l3_peer_release(b=0):
    return u8(10) + u8(b)


def hostile_raw(off, data):
    return u8(13) + u8(0) + u16(off) + u8(len(data) - 1) + data


def hostile_counter(which, delta):
    return u8(13) + u8(1) + u8(which) + u8(delta)


def hostile_ctrl(which, v):
    return u8(13) + u8(2) + u8(which) + u32(v)


def hostile_desc(inp, dseq, opcode, off, nb, zero=0):
    return (u8(13) + u8(3) + u8(inp) + u8(dseq) + u8(opcode) + u16(off) +
            u16(nb) + u8(zero))


def l3_seeds():
    d = os.path.join(HERE, "corpus", "fuzz_l3")
    # depth 4, arenas 256/256: honest both ways
    s = header(1, 3, 3, 2, 0)
    for i in range(40):
        s += l3_sut(0, i, 10 + i * 7)          # enqueue
        s += l3_peer_take() + l3_peer_release()
        s += l3_peer_publish(i * 2, 5 + i * 11)
        s += l3_sut(3, 0, 0)                   # peek, read, release
    write(os.path.join(d, "honest"), s)
    # counter wrap at 2^32, zero copy and deferred publishing, blocking
    s = header(2, 2, 4, 3, (1 << 32) - 20)
    for i in range(60):
        s += l3_sut(1, 2 if i % 3 else 0, i * 5)
        s += l3_sut(2, 0, 0)
        s += l3_peer_take() + l3_peer_release(i)
        s += l3_peer_publish(i, i * 3)
        s += l3_sut(5, 0, 0) + l3_sut(8, 1, 0) + l3_sut(7, 3, 0)
    s += l3_sut(6, 1, 0)                       # STOP
    write(os.path.join(d, "wrap-stop"), s)
    # hostile: every kind, between honest steps
    rnd = random.Random(3)
    s = header(0, 1, 2, 1, 1 << 31)
    for i in range(80):
        s += l3_peer_publish(i, rnd.randrange(0, 200))
        s += [hostile_counter(rnd.randrange(6), rnd.randrange(256)),
              hostile_ctrl(rnd.randrange(10), rnd.randrange(1 << 32)),
              hostile_desc(rnd.randrange(2), rnd.randrange(4),
                           rnd.randrange(4), rnd.randrange(300),
                           rnd.randrange(300)),
              hostile_raw(PAYLOAD + rnd.randrange(600),
                          bytes(rnd.randrange(256) for _ in range(8)))
              ][i % 4]
        s += l3_sut(rnd.choice([0, 1, 3, 5, 8]), rnd.randrange(256),
                    rnd.randrange(300))
    write(os.path.join(d, "hostile"), s)
    # blind: a published output's payload overwritten before the L3 takes it
    s = header(1, 3, 3, 0, 0)
    s += l3_peer_publish(0x10, 16)
    out_arena = PAYLOAD + arenas(4) + ARENAS[3]
    s += hostile_raw(out_arena, b"\xde\xad\xbe\xef")
    s += l3_sut(3, 0, 0)
    write(os.path.join(d, "blind-payload"), s)


# ---- fuzz_l2: ops 0-7 the L2 (b, n16), 8-12 the honest L3, 13-15 hostile
def l2_sut(op, b, n):
    return u8(op) + u8(b) + u16(n)


def l2_peer_enqueue(b, n):
    return u8(9) + u8(b) + u16(n)


def l2_peer_stop():
    return u8(8) + u8(0)


def l2_peer_consume():
    return u8(12) + u8(0)


def l2_seeds():
    d = os.path.join(HERE, "corpus", "fuzz_l2")
    s = header(2, 3, 3, 4, 0)
    for i in range(50):
        s += l2_peer_enqueue(4 + i, 3 + i * 9)
        s += l2_sut(0, 0, 0)                   # peek
        if i % 3 == 2:
            s += l2_sut(2, i, 0)               # release a batch
        s += l2_sut(3, i, 10 + i)              # reserve + publish output
        s += l2_peer_consume()
    s += l2_sut(2, 255, 0)
    s += l2_peer_stop() + l2_sut(0, 0, 0) + l2_sut(1, 0, 0)
    write(os.path.join(d, "honest-stop"), s)
    s = header(1, 2, 1, 1, (1 << 31) - 10)
    for i in range(60):
        s += l2_peer_enqueue(6 + (i & 3), i * 4)
        s += u8(11) + u8(0)                    # flush
        s += l2_sut(6, 1, 0) + l2_sut(1, 0, 0)  # blocking peek, release
        s += l2_sut(7, 4 | (i & 3), i * 2)     # blocking reserve
        s += l2_sut(4, 0, 0) + l2_sut(5, i, 0) + l2_peer_consume()
    write(os.path.join(d, "wrap-blocking"), s)
    rnd = random.Random(5)
    s = header(3, 4, 0, 8, 77)
    for i in range(80):
        s += l2_peer_enqueue(4 + rnd.randrange(250), rnd.randrange(600))
        s += [hostile_counter(rnd.randrange(6), rnd.randrange(256)),
              hostile_ctrl(rnd.randrange(10), rnd.randrange(1 << 32)),
              hostile_desc(rnd.randrange(2), rnd.randrange(4),
                           rnd.randrange(4), rnd.randrange(600),
                           rnd.randrange(600)),
              hostile_raw(PAYLOAD + rnd.randrange(1600),
                          bytes(rnd.randrange(256) for _ in range(8)))
              ][i % 4]
        s += l2_sut(rnd.choice([0, 1, 2, 3, 6]), rnd.randrange(256),
                    rnd.randrange(600))
    write(os.path.join(d, "hostile"), s)
    s = header(1, 3, 3, 0, 0)
    s += l2_peer_enqueue(0x10, 16)
    in_arena = PAYLOAD + arenas(4)
    s += hostile_raw(in_arena, b"\xde\xad\xbe\xef")
    s += l2_sut(0, 0, 0)
    write(os.path.join(d, "blind-payload"), s)


# ---- fuzz_mailbox: op byte (% 8), salt byte, then the op's arguments
def mb_seeds():
    d = os.path.join(HERE, "corpus", "fuzz_mailbox")
    base = b"\x00\x00\x00"
    s = base
    for i in range(200):
        s += u8(0) + u8(i)                     # push
        if i % 2:
            s += u8(4) + u8(0)                 # pop
    for i in range(120):
        s += u8(4) + u8(0)
    write(os.path.join(d, "push-pop"), s)
    # stalled producers: claims published out of order, pops stop at gaps
    s = b"\x01\xff\xf0"
    for i in range(60):
        s += u8(2) + u8(0) + u8(0) + u8(i) + u8(2) + u8(0)
        s += u8(4) + u8(0) + u8(3) + u8(i * 7) + u8(4) + u8(0)
    for i in range(80):
        s += u8(3) + u8(i) + u8(5) + u8(0)
    s += u8(6) + u8(1)                         # reset
    write(os.path.join(d, "stalled"), s)
    # the ring filled up, hostile writes to entries and to head/tail
    s = b"\x00\x10\x00"
    for i in range(4200):
        s += u8(1) + u8(i)
    rnd = random.Random(7)
    for i in range(60):
        off = 192 + 64 * rnd.randrange(4096) + rnd.randrange(64)
        s += u8(7) + u8(0) + u8(off >> 8) + u8(off) + u8(7)
        s += bytes(rnd.randrange(256) for _ in range(8))
        s += u8(4) + u8(0)
    s += u8(7) + u8(0) + u8(0) + u8(64) + u8(0) + u8(5)   # tail low byte
    s += u8(4) + u8(0) + u8(0) + u8(1)
    write(os.path.join(d, "full-hostile"), s)
    s = base + u8(0) + u8(5)
    s += u8(7) + u8(0) + u8(0) + u8(200) + u8(3) + b"\xde\xad\xbe\xef"
    s += u8(4) + u8(0)
    write(os.path.join(d, "blind-entry"), s)


if __name__ == "__main__":
    l3_seeds()
    l2_seeds()
    mb_seeds()
