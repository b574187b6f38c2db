#!/usr/bin/env python3
"""vddkcheck.py: oracles for the libvixDiskLib client tests.

  vddkcheck.py blocks QEMU_MAP.json OURS.blocks CAPACITY CHUNK
      QueryAllocatedBlocks output ("offset length" lines, sectors) against
      qemu-img map: the expected blocks are the CHUNK-sector chunks (grid
      from sector 0) holding any byte qemu reports as data, merged, the
      last one cut at CAPACITY.
  vddkcheck.py ddb VMDK OURS.meta
      GetMetadataKeys/ReadMetadata output ("key = value" lines) against the
      ddb.* entries of the descriptor (embedded in hosted sparse and
      stream-optimized files, else the text file), last value of a key wins.

Exit status 0 equal, 1 different (differences printed), 2 usage/input error.
"""

import json
import re
import struct
import sys


def die(msg):
    print("vddkcheck: " + msg, file=sys.stderr)
    sys.exit(2)


def blocks(qmap, ours, capacity, chunk):
    capacity, chunk = int(capacity), int(chunk)
    with open(qmap) as f:
        entries = json.load(f)
    want = []
    for e in entries:
        if not e.get("data"):
            continue
        s = e["start"] // 512
        t = (e["start"] + e["length"] + 511) // 512
        cs = s // chunk * chunk
        ce = min((t + chunk - 1) // chunk * chunk, capacity)
        if want and want[-1][1] >= cs:
            want[-1][1] = max(want[-1][1], ce)
        else:
            want.append([cs, ce])
    got = []
    with open(ours) as f:
        for line in f:
            o, n = (int(x) for x in line.split())
            got.append([o, o + n])
    # ours must already be merged and ascending; merge anyway to compare sets
    merged = []
    for b in got:
        if merged and merged[-1][1] >= b[0]:
            merged[-1][1] = max(merged[-1][1], b[1])
        else:
            merged.append(list(b))
    problems = []
    if merged != got:
        problems.append("blocks are not ascending, disjoint and merged")
    if merged != want:
        problems.append("allocated chunks differ")
        print("ours (%d): %s" % (len(merged), merged[:20]))
        print("qemu (%d): %s" % (len(want), want[:20]))
    for p in problems:
        print("vddkcheck: " + p)
    if problems:
        return 1
    print("vddkcheck: %d blocks equal" % len(want))
    return 0


def descriptor_text(path):
    with open(path, "rb") as f:
        head = f.read(512)
        if head[:4] == b"KDMV":
            off, size = struct.unpack_from("<QQ", head, 28)
            if off == 0 or size == 0:
                return ""
            f.seek(off * 512)
            return f.read(size * 512).split(b"\0", 1)[0].decode("utf-8", "replace")
        f.seek(0)
        return f.read(1024 * 1024).decode("utf-8", "replace")


def ddb(vmdk, ours):
    text = descriptor_text(vmdk)
    want = {}
    order = []
    for line in text.splitlines():
        m = re.match(r'\s*ddb\.([^=\s]+)\s*=\s*"?([^"]*)"?\s*$', line)
        if m:
            k, v = m.group(1), m.group(2)
            low = k.lower()
            if low in want:
                order.remove(low)
            want[low] = (k, v)
            order.append(low)
    expected = ["%s = %s" % want[k] for k in order]
    with open(ours) as f:
        got = [l.rstrip("\n") for l in f]
    if got != expected:
        print("ours: %s" % got)
        print("descriptor: %s" % expected)
        return 1
    print("vddkcheck: %d keys equal" % len(got))
    return 0


def main(argv):
    if len(argv) == 6 and argv[1] == "blocks":
        return blocks(*argv[2:])
    if len(argv) == 4 and argv[1] == "ddb":
        return ddb(*argv[2:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
