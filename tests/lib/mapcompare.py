#!/usr/bin/env python3
"""mapcompare.py OURS.json QEMU.json

Compare two allocation maps in `qemu-img map --output=json` format
([{start, length, depth, present, zero, data[, offset]}, ...]).

Both maps are normalized into per-range classifications and compared over
every byte:
  - data flag, depth and present always;
  - zero only where data is false (qemu reports {zero:true, data:true} over
    holes of sparse FLAT extent files: data:true ranges are equal whatever
    their zero flag says);
  - offset only where both sides give one (compared byte-exactly: an entry's
    offset is advanced by the distance from the entry's start).
Adjacent ranges with equal classification and contiguous offsets are merged,
so the two tools may split ranges differently.

Exit status: 0 equal, 1 differences (printed), 2 usage or input error.
"""

import json
import sys

MAX_PRINTED = 30


def die(msg):
    print("mapcompare: " + msg, file=sys.stderr)
    sys.exit(2)


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        die("%s: %s" % (path, e.strerror))
    try:
        entries = json.loads(text)
    except ValueError as e:
        die("%s: not JSON: %s" % (path, e))
    if not isinstance(entries, list):
        die("%s: top level is not a list" % path)
    out = []
    for i, e in enumerate(entries):
        if not isinstance(e, dict):
            die("%s: entry %d is not an object" % (path, i))
        for k in ("start", "length", "depth", "zero", "data"):
            if k not in e:
                die("%s: entry %d has no '%s'" % (path, i, k))
        for k in ("start", "length", "depth"):
            if not isinstance(e[k], int) or isinstance(e[k], bool) or e[k] < 0:
                die("%s: entry %d: '%s' is not a non-negative integer"
                    % (path, i, k))
        for k in ("zero", "data", "present"):
            if k in e and not isinstance(e[k], bool):
                die("%s: entry %d: '%s' is not a boolean" % (path, i, k))
        if "offset" in e and (not isinstance(e["offset"], int)
                              or isinstance(e["offset"], bool)
                              or e["offset"] < 0):
            die("%s: entry %d: 'offset' is not a non-negative integer"
                % (path, i))
        if e["length"] == 0:
            continue
        out.append(e)
    return out


def classify(e):
    """The comparable classification of an entry (without the offset)."""
    data = e["data"]
    return (data, e["depth"], e.get("present"), None if data else e["zero"])


def describe(key, offset):
    data, depth, present, zero = key
    s = "data=%s depth=%d" % ("true" if data else "false", depth)
    if present is not None:
        s += " present=%s" % ("true" if present else "false")
    if not data:
        s += " zero=%s" % ("true" if zero else "false")
    if offset is not None:
        s += " offset=%d" % offset
    return s


def normalize(path, entries):
    """Sorted, gap-checked, merged list of [start, end, key, offset]."""
    entries = sorted(entries, key=lambda e: e["start"])
    runs = []
    pos = 0
    problems = []
    for e in entries:
        start, end = e["start"], e["start"] + e["length"]
        if start != pos:
            problems.append("%s: %s at %d (expected next entry at %d)"
                            % (path, "overlap" if start < pos else "gap",
                               start, pos))
            if start < pos:
                if end <= pos:
                    continue
                # keep the uncovered tail only
                off = e.get("offset")
                if off is not None:
                    off += pos - start
                start = pos
                e = dict(e, start=start, length=end - start)
                if off is not None:
                    e["offset"] = off
        key = classify(e)
        off = e.get("offset")
        if runs:
            r = runs[-1]
            if (r[1] == start and r[2] == key
                    and ((r[3] is None and off is None)
                         or (r[3] is not None and off is not None
                             and r[3] + (r[1] - r[0]) == off))):
                r[1] = end
                pos = end
                continue
        runs.append([start, end, key, off])
        pos = end
    return runs, problems


def compare(ours, theirs):
    """Per-piece differences between two normalized run lists."""
    diffs = []
    i = j = 0
    while i < len(ours) and j < len(theirs):
        a, b = ours[i], theirs[j]
        lo = max(a[0], b[0])
        hi = min(a[1], b[1])
        if lo < hi:
            aoff = None if a[3] is None else a[3] + (lo - a[0])
            boff = None if b[3] is None else b[3] + (lo - b[0])
            same = a[2] == b[2]
            if same and aoff is not None and boff is not None:
                same = aoff == boff
            if not same:
                # merge with the previous difference when it continues it
                if diffs:
                    d = diffs[-1]
                    if (d[1] == lo and d[2] == a[2] and d[4] == b[2]
                            and cont(d[3], d[1] - d[0], aoff)
                            and cont(d[5], d[1] - d[0], boff)):
                        d[1] = hi
                        lo = hi
                if lo < hi:
                    diffs.append([lo, hi, a[2], aoff, b[2], boff])
        if a[1] <= b[1]:
            i += 1
        if b[1] <= a[1]:
            j += 1
    return diffs


def cont(prev_off, prev_len, off):
    if prev_off is None or off is None:
        return prev_off is None and off is None
    return prev_off + prev_len == off


def main(argv):
    if len(argv) != 3:
        print("usage: mapcompare.py OURS.json QEMU.json", file=sys.stderr)
        return 2
    ours_path, qemu_path = argv[1], argv[2]
    ours, p1 = normalize(ours_path, load(ours_path))
    qemu, p2 = normalize(qemu_path, load(qemu_path))
    problems = p1 + p2
    ours_end = ours[-1][1] if ours else 0
    qemu_end = qemu[-1][1] if qemu else 0
    if ours_end != qemu_end:
        problems.append("maps cover different sizes: ours %d bytes, qemu %d"
                        % (ours_end, qemu_end))
    diffs = compare(ours, qemu)

    for p in problems:
        print("mapcompare: " + p)
    for n, d in enumerate(diffs):
        if n == MAX_PRINTED:
            print("mapcompare: ... %d more differences" % (len(diffs) - n))
            break
        lo, hi, akey, aoff, bkey, boff = d
        print("mapcompare: [%d, %d) (%d bytes): ours %s; qemu %s"
              % (lo, hi, hi - lo, describe(akey, aoff), describe(bkey, boff)))
    if problems or diffs:
        print("mapcompare: %d differences, %d structural problems"
              % (len(diffs), len(problems)))
        return 1
    print("mapcompare: equal (%d ranges ours, %d qemu after merging)"
          % (len(ours), len(qemu)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
