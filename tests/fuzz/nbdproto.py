#!/usr/bin/env python3
"""nbdproto.py OUTDIR SEED COUNT SIZE [EXPORT]: NBD client byte streams for
nbdkit's own way of fuzzing (nbdkit -s reads a connection from stdin).

Writes OUTDIR/in-NNNN: a client side of a whole connection to an export of
SIZE bytes: the fixed-newstyle handshake (NBD_OPT_SET_META_CONTEXT for
base:allocation, then NBD_OPT_GO or NBD_OPT_EXPORT_NAME), then requests of
every kind (read, write, flush, trim, cache, write zeroes with their flags,
block status, disconnect) at random, odd and out-of-range offsets and
lengths.  Most streams are then mutated (bytes flipped, set, cut, repeated,
lengths and types replaced) so that the server meets broken ones too.
Deterministic for a SEED.  Only the Python standard library is used.
"""
import random
import struct
import sys

OPT_MAGIC = b"IHAVEOPT"
REQ_MAGIC = 0x25609513
OPT_EXPORT_NAME, OPT_GO, OPT_SET_META = 1, 7, 10
CMD_READ, CMD_WRITE, CMD_DISC, CMD_FLUSH, CMD_TRIM, CMD_CACHE, CMD_ZERO, CMD_STATUS = range(8)
FLAG_FUA, FLAG_NO_HOLE, FLAG_DF, FLAG_REQ_ONE, FLAG_FAST_ZERO = 1, 2, 4, 8, 16


def option(opt, data):
    return OPT_MAGIC + struct.pack(">II", opt, len(data)) + data


def handshake(r, export):
    name = export.encode()
    out = struct.pack(">I", 3)            # fixed newstyle, no zeroes
    if r.random() < 0.7:
        ctx = b"base:allocation"
        out += option(OPT_SET_META, struct.pack(">I", len(name)) + name +
                      struct.pack(">II", 1, len(ctx)) + ctx)
    if r.random() < 0.8:
        out += option(OPT_GO, struct.pack(">I", len(name)) + name + struct.pack(">HH", 1, 3))
    else:
        out += option(OPT_EXPORT_NAME, name)
    return out


def an_offset(r, size):
    k = r.randrange(6)
    if k == 0:
        return r.randrange(size // 512 + 1) * 512
    if k == 1:
        return r.randrange(size + 1)
    if k == 2:
        return max(0, size - r.choice((1, 511, 512, 4096)))
    if k == 3:
        return size + r.choice((0, 1, 512))
    if k == 4:
        return r.choice((2 ** 63 - 1, 2 ** 64 - 512, 2 ** 64 - 1))
    return 0


def a_length(r):
    return r.choice((0, 1, 511, 512, 513, 4096, 65536, 65537, 1 << 20,
                     (32 << 20) + 1, 2 ** 32 - 1, r.randrange(1, 200000)))


def request(r, size, cookie):
    cmd = r.choice((CMD_READ, CMD_READ, CMD_WRITE, CMD_WRITE, CMD_FLUSH, CMD_TRIM,
                    CMD_CACHE, CMD_ZERO, CMD_ZERO, CMD_STATUS, CMD_STATUS, 8, 0xffff))
    flags = r.choice((0, 0, 0, FLAG_FUA, FLAG_NO_HOLE, FLAG_DF, FLAG_REQ_ONE,
                      FLAG_FAST_ZERO, FLAG_NO_HOLE | FLAG_FAST_ZERO, r.randrange(1 << 16)))
    off, length = an_offset(r, size), a_length(r)
    out = struct.pack(">IHHQQI", REQ_MAGIC, flags, cmd, cookie, off, length)
    if cmd == CMD_WRITE:
        n = min(length, 70000)            # the rest, if any, is what follows
        out += bytes(r.randrange(256) for _ in range(min(n, 64))) * (n // 64) + \
            bytes(n % 64)
    return out


def mutate(r, data):
    b = bytearray(data)
    for _ in range(r.randrange(1, 8)):
        if not b:
            break
        k = r.randrange(6)
        i = r.randrange(len(b))
        if k == 0:
            b[i] ^= 1 << r.randrange(8)
        elif k == 1:
            b[i] = r.choice((0, 0xff, 0x7f, 0x80, r.randrange(256)))
        elif k == 2:
            del b[i:i + r.randrange(1, 64)]
        elif k == 3:
            j = r.randrange(len(b))
            b[i:i] = b[j:j + r.randrange(1, 128)]
        elif k == 4 and i + 4 <= len(b):
            b[i:i + 4] = struct.pack(">I", r.choice((0, 1, 0xffffffff, 0x80000000, 512)))
        else:
            b = b[:i]                      # cut short
    return bytes(b)


def main():
    outdir, seed, count, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    export = sys.argv[5] if len(sys.argv) > 5 else ""
    r = random.Random(seed)
    for n in range(count):
        s = handshake(r, export)
        for c in range(r.randrange(1, 24)):
            s += request(r, size, c)
        if r.random() < 0.5:
            s += struct.pack(">IHHQQI", REQ_MAGIC, 0, CMD_DISC, 99, 0, 0)
        if r.random() < 0.75:
            s = s[:4] + mutate(r, s[4:]) if r.random() < 0.3 else \
                s[:len(s) // 8] + mutate(r, s[len(s) // 8:])
        with open("%s/in-%04d" % (outdir, n), "wb") as f:
            f.write(s)


if __name__ == "__main__":
    main()
