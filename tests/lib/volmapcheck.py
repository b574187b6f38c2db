#!/usr/bin/env python3
"""tests/lib/volmapcheck.py MAPFILE NAME VOLUME.json DISK0.json [DISK1.json...]

Checks the block status of a volume export against its disks': VOLUME.json
is `nbdinfo --map --json` of the export NAME, DISKn.json that of disk n's
export, MAPFILE the volume map the server was given (volume NAME PIECES,
common/utils/segtext.h).  Every byte of the volume must have the type
(hole/zero bits) its disk byte has, through the volume's segments (linear,
and striped as device-mapper lays them out).  Exit 0 if equal; else the
first differences on stdout and exit 1.
"""
import json
import sys


def runs(path):
    out = []
    for e in json.load(open(path)):
        out.append((e["offset"], e["length"], e["type"] & 3))
    return out


def type_at(rs, off):
    lo, hi = 0, len(rs)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if rs[mid][0] <= off:
            lo = mid
        else:
            hi = mid
    s, n, t = rs[lo]
    assert s <= off < s + n, "offset %d not in the disk map" % off
    return t, s + n - off


def pieces(mapfile, name):
    for line in open(mapfile):
        w = line.split()
        if len(w) > 2 and w[0] == "volume" and w[1] == name:
            w = w[2:]
            segs, i = [], 0
            while i < len(w):
                if w[i] == "linear":
                    segs.append(("linear", int(w[i + 1], 0), int(w[i + 2]), int(w[i + 3], 0)))
                    i += 4
                else:
                    n = int(w[i + 2], 0)
                    st = [(int(w[i + 4 + 2 * k]), int(w[i + 5 + 2 * k], 0)) for k in range(n)]
                    segs.append(("striped", int(w[i + 1], 0), int(w[i + 3], 0), st))
                    i += 4 + 2 * n
            return segs
    sys.exit("volmapcheck: %s not in %s" % (name, mapfile))


def main():
    mapfile, name, vol = sys.argv[1:4]
    disks = [runs(p) for p in sys.argv[4:]]
    # the expected runs: (volume offset, length, type), merged
    want = []

    def add(off, n, t):
        if want and want[-1][2] == t and want[-1][0] + want[-1][1] == off:
            want[-1] = (want[-1][0], want[-1][1] + n, t)
        else:
            want.append((off, n, t))

    pos = 0
    for s in pieces(mapfile, name):
        if s[0] == "linear":
            _, length, disk, doff = s
            done = 0
            while done < length:
                t, run = type_at(disks[disk], doff + done)
                run = min(run, length - done)
                add(pos + done, run, t)
                done += run
        else:
            _, length, chunk, st = s
            for c in range(length // chunk):
                disk, base = st[c % len(st)]
                doff = base + (c // len(st)) * chunk
                done = 0
                while done < chunk:
                    t, run = type_at(disks[disk], doff + done)
                    run = min(run, chunk - done)
                    add(pos + c * chunk + done, run, t)
                    done += run
        pos += s[1]
    got = []
    for off, n, t in runs(vol):
        if got and got[-1][2] == t and got[-1][0] + got[-1][1] == off:
            got[-1] = (got[-1][0], got[-1][1] + n, t)
        else:
            got.append((off, n, t))
    if got == want:
        print("%s: %d runs equal" % (name, len(got)))
        return 0
    print("%s: block status differs (got %d runs, want %d)" % (name, len(got), len(want)))
    for i in range(min(10, max(len(got), len(want)))):
        print("  got %s  want %s" % (got[i] if i < len(got) else "-", want[i] if i < len(want) else "-"))
    return 1


sys.exit(main())
