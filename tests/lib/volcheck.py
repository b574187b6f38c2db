#!/usr/bin/env python3
"""tests/lib/volcheck.py OUT EXPECTED: the volume lines a tests/mntapi-client
run printed (OUT: JSON objects, one a line, among other lines) against the
expectation (EXPECTED: a JSON object a line, each with "name" and the keys
to compare; a null value is not compared).  Prints "# ..." for each
difference, then the number of differences as the last line."""
import json
import sys

got = {j["name"]: j for j in (json.loads(l) for l in open(sys.argv[1]) if l.startswith("{"))}
bad = 0
for line in open(sys.argv[2]):
    e = json.loads(line)
    g = got.get(e["name"])
    if g is None:
        print("# missing volume", e["name"])
        bad += 1
        continue
    for k, v in e.items():
        if v is not None and g.get(k) != v:
            print("#", e["name"], k, "got", g.get(k), "expected", v)
            bad += 1
print(bad)
