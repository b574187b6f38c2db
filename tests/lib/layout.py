#!/usr/bin/env python3
"""tests/lib/layout.py SRCDIR [BUILDDIR]: checks the tree's layout rules, as TAP.

A part is a folder with one job (common/vmdk, disklib, bridge/fuse, ...,
PARTS below).  The rules:
  1. every C file of the tree belongs to a known part;
  2. the files' #include "..." graph has no cycle, and no cycle through files
     of different parts;
  3. the parts' include graph is acyclic, and every part includes only the
     parts it is allowed to depend on (ALLOWED: the data's way, bottom up);
  4. with BUILDDIR: the parts' link graph (a symbol used in an object file of
     one part and defined in another's) is acyclic as well.
Includes resolve as the compiler does: the including file's folder first,
then the include folders of the build (INCLUDE_DIRS).
"""
import os
import re
import subprocess
import sys

# part -> the parts it may include or call (besides itself)
ALLOWED = {
    "common/utils": set(),
    "common/vix": {"common/utils", "common/vmdk", "disklib/include"},
    "common/vmdk": {"common/utils"},
    "common/cow": {"common/utils"},
    "nbdkit-plugin": {"common/utils", "common/vmdk", "common/cow"},
    "disklib/include": set(),
    "disklib": {"common/utils", "common/vmdk", "common/vix", "disklib/include"},
    "bridge/fuse": {"common/utils", "common/vmdk", "common/vix", "common/cow",
                    "disklib/include"},
    "bridge/kernel": {"common/utils"},
    "mntapi/lvm": {"common/utils"},
    "mntapi/discover": {"common/utils", "mntapi/lvm"},
    "mntapi/inspect": {"common/utils", "mntapi/discover"},
    "mntapi/mount": {"common/utils", "common/vix", "disklib/include", "bridge/kernel"},
    "mntapi/include": {"disklib/include"},
    "mntapi": {"common/utils", "common/vmdk", "common/vix", "disklib/include",
               "disklib", "mntapi/include", "mntapi/discover", "mntapi/mount",
               "mntapi/inspect", "bridge/kernel"},
    "cli": {"common/utils", "common/vmdk", "common/vix", "disklib/include",
            "disklib", "mntapi/include", "mntapi"},
    # the user guide's example programs: the installed headers only
    "docs/examples": {"disklib/include", "mntapi/include"},
    # tests may use anything
    "tests": None,
}
PARTS = sorted(ALLOWED, key=len, reverse=True)   # longest prefix first
INCLUDE_DIRS = ["common/utils", "common/vmdk", "common/vix", "common/cow",
                "disklib/include", "mntapi/include", "mntapi/discover", "mntapi/lvm", "mntapi/inspect",
                "mntapi/mount", "bridge/fuse", "bridge/kernel", "tests/unit"]
INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)

n = 0
failed = 0


def ok(cond, what, detail=None):
    global n, failed
    n += 1
    print(("ok" if cond else "not ok") + " %d - %s" % (n, what))
    if not cond:
        failed += 1
        for line in (detail or []):
            print("#   " + line)


def part_of(path):
    for p in PARTS:
        if path == p or path.startswith(p + "/"):
            return p
    return None


def sources(top):
    out = []
    for root, dirs, files in os.walk(top):
        rel = os.path.relpath(root, top)
        dirs[:] = [d for d in dirs if not d.startswith(".")
                   and not d.startswith("build") and d != "autom4te.cache"]
        for f in files:
            if f.endswith((".c", ".h")):
                out.append(os.path.normpath(os.path.join(rel, f)))
    return sorted(out)


def resolve(top, src, name):
    cand = os.path.normpath(os.path.join(os.path.dirname(src), name))
    if os.path.exists(os.path.join(top, cand)):
        return cand
    for d in INCLUDE_DIRS:
        cand = os.path.normpath(os.path.join(d, name))
        if os.path.exists(os.path.join(top, cand)):
            return cand
    return None    # a system or generated header


def sccs(nodes, edges):
    """Tarjan's strongly connected components (iterative)."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter[0]; counter[0] += 1
        stack.append(root); on.add(root)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]; counter[0] += 1
                    stack.append(w); on.add(w)
                    work.append((w, iter(sorted(edges.get(w, ())))))
                    advanced = True
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop(); on.discard(w); comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1 or v in edges.get(v, ()):
                    out.append(sorted(comp))
    return out


def part_edges_ok(kind, pedges):
    bad = []
    for a in sorted(pedges):
        allowed = ALLOWED.get(a)
        if allowed is None:
            continue
        for b in sorted(pedges[a]):
            if b != a and b not in allowed:
                bad.append("%s -> %s (%s)" % (a, b, ", ".join(sorted(pedges[a][b]))[:300]))
    ok(not bad, "every part %s only the parts below it" % kind, bad)
    graph = {a: {b for b in pedges[a] if b != a} for a in pedges}
    cyc = sccs(sorted(graph), graph)
    ok(not cyc, "the parts' %s graph has no cycle" % kind,
       [" <-> ".join(c) for c in cyc])


def main():
    top = sys.argv[1]
    build = sys.argv[2] if len(sys.argv) > 2 else None
    files = sources(top)
    orphans = [f for f in files if part_of(f) is None]
    ok(not orphans, "every C file (%d) belongs to a part" % len(files), orphans)

    edges, unresolved = {}, []
    for f in files:
        with open(os.path.join(top, f), encoding="utf-8", errors="replace") as fh:
            text = fh.read()
        for name in INCLUDE_RE.findall(text):
            r = resolve(top, f, name)
            if r is None:
                if not name.endswith((".def",)) and name not in ("config.h",):
                    unresolved.append("%s: \"%s\"" % (f, name))
                continue
            edges.setdefault(f, set()).add(r)
    ok(not unresolved, "every #include \"...\" resolves to a file of the tree",
       unresolved)
    cyc = sccs(files, edges)
    ok(not cyc, "the files' include graph has no cycle",
       [" <-> ".join(c) for c in cyc])
    cross = [c for c in cyc if len({part_of(f) for f in c}) > 1]
    ok(not cross, "no include cycle through files of different parts",
       [" <-> ".join(c) for c in cross])
    pedges = {}
    for a, bs in edges.items():
        for b in bs:
            pa, pb = part_of(a), part_of(b)
            pedges.setdefault(pa, {}).setdefault(pb, set()).add(
                "%s includes %s" % (a, b))
    part_edges_ok("includes", pedges)

    if not build:
        return
    # link graph: U symbols of each object against the T/D/B symbols of the
    # others.  Only the objects the Makefile builds now count (am_*_OBJECTS),
    # not stale ones an older layout left in the build folder.
    objs = set()
    with open(os.path.join(build, "Makefile")) as fh:
        text = fh.read().replace("\\\n", " ").replace("$(OBJEXT)", "o")
    for m in re.finditer(r"^am_\w+_OBJECTS\s*=(.*)$", text, re.M):
        objs.update(w for w in m.group(1).split() if w.endswith((".lo", ".o")))
    defs, uses = {}, {}
    for obj in sorted(objs):
        d, name = os.path.split(obj)
        path = os.path.join(build, d, name[:-3] + ".o") if name.endswith(".lo") \
            else os.path.join(build, obj)
        if name.endswith(".lo") and not os.path.exists(path):
            path = os.path.join(build, d, ".libs", name[:-3] + ".o")
        if not os.path.exists(path):
            continue
        base = name.rsplit(".", 1)[0]
        base = base.split("-", 1)[-1] if "-" in base else base
        src = os.path.normpath(os.path.join(d, base + ".c"))
        part = part_of(src)
        if part is None or part == "tests":
            continue
        out = subprocess.run(["nm", "-P", path], capture_output=True,
                             text=True).stdout
        for line in out.splitlines():
            w = line.split()
            if len(w) < 2:
                continue
            if w[1] == "U":
                uses.setdefault(part, {}).setdefault(w[0], src)
            elif w[1] in "TDBRVWC":
                defs.setdefault(w[0], set()).add(part)
    twice = sorted("%s in %s" % (sym, ", ".join(sorted(ps)))
                   for sym, ps in defs.items() if len(ps) > 1 and sym != "main")
    ok(not twice, "no global function or variable is defined in two parts", twice)
    ledges = {}
    for part, syms in uses.items():
        for sym, src in syms.items():
            for p in defs.get(sym, ()):
                if p != part and part not in defs.get(sym, ()):
                    ledges.setdefault(part, {}).setdefault(p, set()).add(
                        "%s uses %s" % (src, sym))
    # the examples are built against the installed headers by a test, not here
    want = {part_of(f) for f in files if f.endswith(".c")} - {"tests", "docs/examples"}
    seen = set(uses) | {p for ps in defs.values() for p in ps}
    ok(want <= seen, "the objects of every part with C sources were read (%d)"
       % len(want), sorted(want - seen))
    part_edges_ok("calls", ledges)


main()
print("1..%d" % n)
sys.exit(1 if failed else 0)
