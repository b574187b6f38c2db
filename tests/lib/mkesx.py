#!/usr/bin/env python3
"""mkesx.py: build ESX-style VMDK test disks that qemu-img cannot create.

usage:
  mkesx.py KIND RAW OUTDIR [options]
  mkesx.py mkraw OUT SIZE [--seed N] [--from BASE.raw]
  mkesx.py readstream FILE OUT.raw

KIND (the disk is OUTDIR/NAME.vmdk, NAME defaults to "disk"):
  cowd              createType="vmfsSparse" descriptor + COWD extent NAME-delta.vmdk
  sesparse          createType="seSparse" descriptor + SESPARSE extent
                    NAME-sesparse.vmdk
  stream-vmware     one VMware-style streamOptimized file NAME.vmdk (GD_AT_END,
                    GT/GD/FOOTER/EOS markers)
  flat-zero-sparse  createType="custom" descriptor mixing FLAT (with offset),
                    ZERO and SPARSE extents; also writes NAME-qemu.vmdk, a twin
                    that qemu-img can read (the ZERO extent replaced by a FLAT
                    extent over a file of zeros, createType
                    twoGbMaxExtentSparse) and NAME-sNNN-qemu.vmdk, each SPARSE
                    extent alone (QEMU misreads the whole twin when a SPARSE
                    extent whose size is not a whole number of grains is
                    followed by another extent)

Every build writes OUTDIR/expected.raw, the bytes the whole disk (chain
included) must read as.  Deltas also get OUTDIR/this-layer.raw: what the link
alone reads as when opened as a single link (unallocated = zeros).

The content of the disk is RAW (padded with zeros to a whole sector).  With
--parent the disk becomes a delta link: only the grains where RAW differs from
the parent's content (--parent-raw, default: qemu-img convert of --parent) are
stored, so the chain still reads as RAW.  With --overlay the delta instead
stores RAW's non-zero grains, and the chain reads as the parent's content with
those grains replaced.

mkraw writes a deterministic reference image of SIZE bytes (suffixes K/M
allowed): random runs, zero runs, byte-pattern runs and data in the last
sector.  With --from BASE it starts from a copy of BASE and rewrites,
zeroes and patterns a few regions (a child's content over BASE).

With --sparse-raw (cowd, sesparse, no parent) RAW may be a sparse file of any
size: only its data ranges are read and no expected.raw is written
(tests/bench/scale makes lightly used 2-8 TiB disks this way).

readstream decodes a stream-vmware file (zlib or raw deflate grains) into a
raw image; it checks --raw-deflate builds, which qemu-img cannot read.

Only the Python standard library is used (zlib included); qemu-img is run
only for --parent without --parent-raw and for the SPARSE extent of
flat-zero-sparse.
"""

import argparse
import hashlib
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

SECTOR = 512
GD_AT_END = 0xFFFFFFFFFFFFFFFF


def die(msg):
    print("mkesx.py: " + msg, file=sys.stderr)
    sys.exit(1)


def ceil_div(a, b):
    return (a + b - 1) // b


def align_up(a, b):
    return ceil_div(a, b) * b


# ---------------------------------------------------------------- images ----

class Image:
    """A disk image in memory, padded to a whole number of sectors."""

    def __init__(self, data):
        if len(data) % SECTOR:
            data = data + bytes(SECTOR - len(data) % SECTOR)
        self.data = data
        self.sectors = len(data) // SECTOR

    def grain(self, g, grain_sectors):
        gb = grain_sectors * SECTOR
        chunk = self.data[g * gb:(g + 1) * gb]
        return chunk + bytes(gb - len(chunk))

    @staticmethod
    def is_zero(b):
        return not any(b) if len(b) < 64 else b.count(0) == len(b)


class SparseRaw:
    """RAW as a sparse file of any size (--sparse-raw): only its data ranges
    (SEEK_DATA/SEEK_HOLE) are ever read, so a lightly used 8 TiB file costs
    what its data costs."""

    def __init__(self, path):
        try:
            self.fd = os.open(path, os.O_RDONLY)
        except OSError as e:
            die("%s: %s" % (path, e.strerror))
        self.size = os.fstat(self.fd).st_size
        self.sectors = ceil_div(self.size, SECTOR)

    def grain(self, g, grain_sectors):
        gb = grain_sectors * SECTOR
        chunk = os.pread(self.fd, gb, g * gb)
        return chunk + bytes(gb - len(chunk))

    def data_grains(self, grain_sectors):
        """Grains touched by a data range, in order (each once)."""
        gb = grain_sectors * SECTOR
        pos, last = 0, -1
        while pos < self.size:
            try:
                start = os.lseek(self.fd, pos, os.SEEK_DATA)
            except OSError:
                return          # ENXIO: no data after pos
            end = os.lseek(self.fd, start, os.SEEK_HOLE)
            for g in range(max(start // gb, last + 1), (end - 1) // gb + 1):
                yield g
                last = g
            pos = end


def read_raw(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        die("%s: %s" % (path, e.strerror))


def write_file(path, data):
    with open(path, "wb") as f:
        f.write(data)


class SparseFile:
    """Builds a file from (offset, bytes) pieces, leaving holes unwritten."""

    def __init__(self):
        self.pieces = []
        self.size = 0

    def put(self, offset, data):
        self.pieces.append((offset, bytes(data)))
        self.size = max(self.size, offset + len(data))

    def write(self, path, size=None):
        with open(path, "wb") as f:
            for off, data in sorted(self.pieces, key=lambda p: p[0]):
                f.seek(off)
                f.write(data)
            f.truncate(self.size if size is None else size)


# ------------------------------------------------------------ descriptor ----

def geometry(sectors):
    heads, secs = 255, 63
    cyl = max(1, min(65535, sectors // (heads * secs)))
    return cyl, heads, secs


def descriptor(create_type, cid, parent_cid, extents, sectors, parent_hint=None,
               extra_ddb=()):
    """extents: list of extent-line strings (without newline)."""
    cyl, heads, secs = geometry(sectors)
    lines = ["# Disk DescriptorFile",
             "version=1",
             'encoding="UTF-8"',
             "CID=%08x" % cid,
             "parentCID=%08x" % parent_cid,
             'isNativeSnapshot="no"',
             'createType="%s"' % create_type]
    if parent_hint is not None:
        lines.append('parentFileNameHint="%s"' % parent_hint)
    lines += ["", "# Extent description"] + list(extents)
    lines += ["", "# The Disk Data Base", "#DDB", ""]
    ddb = [("ddb.adapterType", "lsilogic"),
           ("ddb.geometry.cylinders", str(cyl)),
           ("ddb.geometry.heads", str(heads)),
           ("ddb.geometry.sectors", str(secs)),
           ("ddb.longContentID", "%024x%08x" % (0x1234567890abcdef12345678, cid)),
           ("ddb.uuid", "60 00 c2 9a 81 87 b4 5a-a0 59 e6 9d da b6 d0 47"),
           ("ddb.virtualHWVersion", "13")]
    ddb += list(extra_ddb)
    ddb.sort()
    lines += ['%s = "%s"' % kv for kv in ddb]
    return ("\n".join(lines) + "\n").encode("utf-8")


def read_cid(vmdk_path):
    """CID of a VMDK (separate descriptor or embedded in a KDMV file)."""
    data = read_raw(vmdk_path)
    if data[:4] == b"KDMV":
        off, size = struct.unpack_from("<QQ", data, 28)
        data = data[off * SECTOR:(off + size) * SECTOR]
    text = data.split(b"\0", 1)[0].decode("utf-8", "replace")
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("CID="):
            return int(line[4:].strip(), 16)
    die("%s: no CID line" % vmdk_path)


# ---------------------------------------------------------- grain choice ----

class Plan:
    """Per-grain decisions shared by the ESX sparse builders.

    data[g]   -> bytes for allocated grains (full grain, zero padded)
    zero[g]   -> "zero" (seSparse type 2) or "unmapped" (type 1)
    expected  -> bytes the whole chain reads as
    layer     -> bytes this link alone reads as
    """

    def __init__(self, img, grain_sectors, parent=None, overlay=False):
        self.img = img
        self.gs = grain_sectors
        self.ngrains = ceil_div(img.sectors, grain_sectors)
        self.parent = parent
        self.overlay = overlay
        self.data = {}
        self.zero = {}
        if isinstance(img, SparseRaw):     # no parent here (checked in main)
            for g in img.data_grains(grain_sectors):
                chunk = img.grain(g, grain_sectors)
                if not Image.is_zero(chunk):
                    self.data[g] = chunk
            return
        for g in range(self.ngrains):
            chunk = img.grain(g, grain_sectors)
            if parent is None or overlay:
                if not Image.is_zero(chunk):
                    self.data[g] = chunk
            elif chunk != parent.grain(g, grain_sectors):
                self.data[g] = chunk

    def zero_grains(self):
        """Allocated-as-data grains that are all zeros (delta over data)."""
        return [g for g, d in self.data.items() if Image.is_zero(d)]

    def render(self):
        gb = self.gs * SECTOR
        total = self.img.sectors * SECTOR
        layer = bytearray(self.ngrains * gb)
        for g, d in self.data.items():
            layer[g * gb:(g + 1) * gb] = d
        if self.parent is None:
            expected = bytearray(layer)
        else:
            expected = bytearray(self.parent.data[:total])
            expected += bytes(self.ngrains * gb - len(expected))
            for g, d in self.data.items():
                expected[g * gb:(g + 1) * gb] = d
            for g in self.zero:
                expected[g * gb:(g + 1) * gb] = bytes(gb)
        return bytes(expected[:total]), bytes(layer[:total])


def load_parent(args, sectors):
    if not args.parent:
        return None, None, None
    if args.parent_raw:
        praw = read_raw(args.parent_raw)
    else:
        with tempfile.TemporaryDirectory() as td:
            out = os.path.join(td, "p.raw")
            subprocess.run(["qemu-img", "convert", "-f", "vmdk", "-O", "raw",
                            args.parent, out], check=True)
            praw = read_raw(out)
    parent = Image(praw)
    if parent.sectors != sectors:
        die("parent has %d sectors, RAW %d: capacities must match"
            % (parent.sectors, sectors))
    pcid = int(args.parent_cid, 16) if args.parent_cid else read_cid(args.parent)
    hint = args.parent_hint
    if hint is None:
        hint = os.path.relpath(os.path.abspath(args.parent),
                               os.path.abspath(args.outdir))
    return parent, pcid, hint


def write_outputs(args, expected, layer=None):
    write_file(os.path.join(args.outdir, "expected.raw"), expected)
    if layer is not None:
        write_file(os.path.join(args.outdir, "this-layer.raw"), layer)


def grain_order(keys, shuffle, seed):
    keys = sorted(keys)
    if shuffle:
        random.Random(seed).shuffle(keys)
    return keys


# ------------------------------------------------------------------ COWD ----

COWD_GT_ENTRIES = 4096


def build_cowd(args, img):
    gs = args.grain if args.grain else 8
    parent, pcid, hint = load_parent(args, img.sectors)
    plan = Plan(img, gs, parent, args.overlay)
    cap = img.sectors
    n_gd = ceil_div(cap, COWD_GT_ENTRIES * gs)
    gd_offset = 4
    gd_sectors = max(1, ceil_div(n_gd * 4, SECTOR))
    gt_sectors = COWD_GT_ENTRIES * 4 // SECTOR  # 32
    free = gd_offset + gd_sectors

    f = SparseFile()
    gd = [0] * n_gd
    gts = {}
    # Allocation in "write order": a GT is appended when the first grain it
    # covers is written, so GTs and grains interleave as on an ESX host.
    for g in grain_order(plan.data.keys(), args.shuffle, args.seed):
        gdi, slot = divmod(g, COWD_GT_ENTRIES)
        if gd[gdi] == 0:
            gd[gdi] = free
            gts[gdi] = [0] * COWD_GT_ENTRIES
            free += gt_sectors
        gts[gdi][slot] = free
        f.put(free * SECTOR, plan.data[g])
        free += gs
    if free >= 1 << 32:
        die("COWD file too large for 32-bit sector pointers")

    hdr = bytearray(2048)
    struct.pack_into("<4sIIIIIII", hdr, 0, b"COWD", 1, 3, cap, gs,
                     gd_offset, n_gd, free)
    if parent is None:
        struct.pack_into("<III", hdr, 32, *geometry(cap))
    else:
        name = hint.encode("utf-8")[:1023]
        hdr[32:32 + len(name)] = name
        struct.pack_into("<I", hdr, 1056, 1)       # parentGeneration
    struct.pack_into("<I", hdr, 1060, 1)           # generation
    f.put(0, hdr)
    f.put(gd_offset * SECTOR, struct.pack("<%dI" % n_gd, *gd))
    for gdi, gt in gts.items():
        f.put(gd[gdi] * SECTOR, struct.pack("<%dI" % COWD_GT_ENTRIES, *gt))

    ext = "%s-delta.vmdk" % args.name
    f.write(os.path.join(args.outdir, ext), free * SECTOR)
    desc = descriptor("vmfsSparse", args.cid,
                      pcid if parent is not None else 0xFFFFFFFF,
                      ['RW %d VMFSSPARSE "%s"' % (cap, ext)], cap,
                      parent_hint=hint if parent is not None else None)
    write_file(os.path.join(args.outdir, args.name + ".vmdk"), desc)
    if not args.sparse_raw:
        expected, layer = plan.render()
        write_outputs(args, expected, layer if parent is not None else None)
    return "cowd: %d sectors, grain %d, %d GD entries, %d GTs, %d grains" % (
        cap, gs, n_gd, len(gts), len(plan.data))


# -------------------------------------------------------------- seSparse ----

SE_GT_ENTRIES = 4096
SE_GRAIN = 8
SE_GT_SECTORS = 64


def se_gte_allocated(slot):
    return (0x3 << 60) | ((slot & 0xFFF) << 48) | (slot >> 12)


def build_sesparse(args, img):
    if args.grain not in (None, SE_GRAIN):
        die("seSparse grains are always 8 sectors")
    parent, pcid, hint = load_parent(args, img.sectors)
    plan = Plan(img, SE_GRAIN, parent, args.overlay)
    cap = img.sectors
    n_gd = ceil_div(cap, SE_GT_ENTRIES * SE_GRAIN)
    gb = SE_GRAIN * SECTOR

    # Grain-level decisions.  --unmapped N turns N zero grains into type 1
    # (SCSI-unmapped), preferring ones that hide parent data (in a delta, RAW
    # is zero where the parent is not).  With --zero-grains the remaining
    # zero grains that hide parent data become type-2 grains.
    if args.unmapped:
        cands = [g for g in range(plan.ngrains)
                 if g not in plan.data and g not in plan.zero
                 and Image.is_zero(img.grain(g, SE_GRAIN))]
        if parent is not None:
            cands.sort(key=lambda g: Image.is_zero(parent.grain(g, SE_GRAIN)))
        for g in plan.zero_grains() + cands:
            if len([1 for v in plan.zero.values() if v == "unmapped"]) >= args.unmapped:
                break
            plan.data.pop(g, None)
            plan.zero[g] = "unmapped"
    if args.zero_grains:
        for g in plan.zero_grains():
            del plan.data[g]
            plan.zero[g] = "zero"
    live_gts = sorted({g // SE_GT_ENTRIES for g in list(plan.data) + list(plan.zero)})
    if args.zero_grains:
        # every all-zero, unallocated grain inside an allocated GT region
        # becomes a type-2 grain, except every third one (left unallocated so
        # the map has both kinds)
        for gdi in live_gts:
            lo = gdi * SE_GT_ENTRIES
            for g in range(lo, min(lo + SE_GT_ENTRIES, plan.ngrains)):
                if g in plan.data or g in plan.zero or g % 3 == 0:
                    continue
                if Image.is_zero(img.grain(g, SE_GRAIN)) and (
                        parent is None or plan.overlay or
                        Image.is_zero(parent.grain(g, SE_GRAIN))):
                    plan.zero[g] = "zero"

    # GT indexes: assigned in reverse GD order so that index != GD index.
    gt_index = {gdi: i for i, gdi in enumerate(reversed(live_gts))}
    # Grain slots: allocation order (optionally shuffled) from --slot-base.
    slots = {}
    for i, g in enumerate(grain_order(plan.data.keys(), args.shuffle, args.seed)):
        slots[g] = args.slot_base + i
    n_slots = args.slot_base + len(slots)
    if n_slots >= 1 << 48:
        die("too many grain slots")

    # Layout (sectors).  The journal, free bitmap and backmap are sized
    # plausibly and left empty / filled minimally: readers ignore them.
    vh_off, vh_size = 1, 1
    jh_off, jh_size = 2, 1
    j_off, j_size = 8, 8
    gd_off = 16
    gd_size = max(1, ceil_div(n_gd * 8, SECTOR))
    gt_off = align_up(gd_off + gd_size, 8)
    gt_size = max(1, len(live_gts)) * SE_GT_SECTORS
    fb_off = align_up(gt_off + gt_size, 8)
    fb_size = max(1, ceil_div(ceil_div(max(n_slots, 1), 8), SECTOR))
    bm_off = align_up(fb_off + fb_size, 8)
    bm_size = max(1, ceil_div(max(n_slots, 1) * 8, SECTOR))
    gr_off = align_up(bm_off + bm_size, 8)
    gr_size = n_slots * SE_GRAIN

    f = SparseFile()
    const = bytearray(SECTOR)
    struct.pack_into("<26Q", const, 0,
                     0xCAFEBABE, 0x0000000200000001, cap, SE_GRAIN,
                     SE_GT_SECTORS, 0, 0, 0, 0, 0,
                     vh_off, vh_size, jh_off, jh_size, j_off, j_size,
                     gd_off, gd_size, gt_off, gt_size, fb_off, fb_size,
                     bm_off, bm_size, gr_off, gr_size)
    f.put(0, const)
    vol = bytearray(SECTOR)
    struct.pack_into("<4Q", vol, 0, 0xCAFECAFE, len(live_gts), 1, 0)
    f.put(vh_off * SECTOR, vol)

    gd = [0] * (gd_size * SECTOR // 8)
    for gdi, idx in gt_index.items():
        gd[gdi] = (0x10000000 << 32) | idx
    f.put(gd_off * SECTOR, struct.pack("<%dQ" % len(gd), *gd))
    for gdi, idx in gt_index.items():
        gt = [0] * SE_GT_ENTRIES
        lo = gdi * SE_GT_ENTRIES
        for s in range(SE_GT_ENTRIES):
            g = lo + s
            if g in slots:
                gt[s] = se_gte_allocated(slots[g])
            elif g in plan.zero:
                gt[s] = (0x2 if plan.zero[g] == "zero" else 0x1) << 60
        f.put((gt_off + idx * SE_GT_SECTORS) * SECTOR,
              struct.pack("<%dQ" % SE_GT_ENTRIES, *gt))
    bitmap = bytearray(fb_size * SECTOR)
    backmap = [0] * (bm_size * SECTOR // 8)
    for g, slot in slots.items():
        bitmap[slot // 8] |= 1 << (slot % 8)
        backmap[slot] = gt_index[g // SE_GT_ENTRIES]
        f.put((gr_off + slot * SE_GRAIN) * SECTOR, plan.data[g])
    f.put(fb_off * SECTOR, bitmap)
    f.put(bm_off * SECTOR, struct.pack("<%dQ" % len(backmap), *backmap))

    ext = "%s-sesparse.vmdk" % args.name
    f.write(os.path.join(args.outdir, ext), (gr_off + gr_size) * SECTOR)
    desc = descriptor("seSparse", args.cid,
                      pcid if parent is not None else 0xFFFFFFFF,
                      ['RW %d SESPARSE "%s"' % (cap, ext)], cap,
                      parent_hint=hint if parent is not None else None,
                      extra_ddb=[("ddb.grain", "8")])
    write_file(os.path.join(args.outdir, args.name + ".vmdk"), desc)
    if not args.sparse_raw:
        expected, layer = plan.render()
        write_outputs(args, expected, layer if parent is not None else None)
    nz = sum(1 for v in plan.zero.values() if v == "zero")
    nu = len(plan.zero) - nz
    hide = "" if parent is None else ", %d of them over parent data" % sum(
        1 for g in plan.zero if not Image.is_zero(parent.grain(g, SE_GRAIN)))
    return ("sesparse: %d sectors, %d GD entries, %d GTs, %d grains "
            "(slots %d..%d), %d zero, %d unmapped%s" % (
                cap, n_gd, len(live_gts), len(slots), args.slot_base,
                n_slots - 1, nz, nu, hide))


# -------------------------------------------------- VMware-style stream ----

def header_bytes(cap, gs, desc_off, desc_size, gd_off, overhead, flags=0x30001,
                 version=3):
    h = bytearray(SECTOR)
    struct.pack_into("<4sIIQQQQIQQQB4sH", h, 0, b"KDMV", version, flags, cap,
                     gs, desc_off, desc_size, 512, 0, gd_off, overhead, 0,
                     b"\n \r\n", 1)
    return h


def marker(num_sectors, mtype):
    m = bytearray(SECTOR)
    struct.pack_into("<QII", m, 0, num_sectors, 0, mtype)
    return m


def build_stream(args, img):
    if args.parent:
        die("stream-vmware disks cannot be deltas here")
    gs = args.grain if args.grain else 128
    cap = img.sectors
    gb = gs * SECTOR
    n_grains = ceil_div(cap, gs)
    n_gts = ceil_div(n_grains, 512)
    gd_sectors = max(1, ceil_div(n_gts * 4, SECTOR))
    fname = args.name + ".vmdk"
    desc = descriptor("streamOptimized", args.cid, 0xFFFFFFFF,
                      ['RW %d SPARSE "%s"' % (cap, fname)], cap)
    desc_size = max(1, ceil_div(len(desc), SECTOR))
    if args.desc_sectors:
        if args.desc_sectors < desc_size:
            die("descriptor needs %d sectors" % desc_size)
        desc_size = args.desc_sectors
    overhead = args.overhead if args.overhead is not None else 128
    if overhead < 1 + desc_size:
        overhead = 1 + desc_size

    out = bytearray()
    out += header_bytes(cap, gs, 1, desc_size, GD_AT_END, overhead)
    out += desc + bytes(desc_size * SECTOR - len(desc))
    out += bytes(overhead * SECTOR - len(out))

    gd = [0] * n_gts
    gts = {}
    nraw = 0
    ngrains = 0

    def emit_gt(gti):
        out.extend(marker(4, 1))
        gd[gti] = len(out) // SECTOR
        out.extend(struct.pack("<512I", *gts[gti]))

    for g in range(n_grains):
        start = g * gb
        valid = min(gb, cap * SECTOR - start)
        chunk = img.data[start:start + valid]
        if not Image.is_zero(chunk):
            gti, slot = divmod(g, 512)
            gts.setdefault(gti, [0] * 512)[slot] = len(out) // SECTOR
            if args.raw_deflate and ngrains % 2 == 1:
                c = zlib.compressobj(6, zlib.DEFLATED, -15)
                payload = c.compress(chunk) + c.flush()
                nraw += 1
            else:
                payload = zlib.compress(chunk, 6)
            ngrains += 1
            m = struct.pack("<QI", g * gs, len(payload)) + payload
            out += m + bytes(-len(m) % SECTOR)
        # interleaved GTs: a GT goes right after the last grain it covers
        if not args.gts_at_end and (g % 512 == 511 or g == n_grains - 1):
            if g // 512 in gts:
                emit_gt(g // 512)
    if args.gts_at_end:
        for gti in sorted(gts):
            emit_gt(gti)
    out += marker(gd_sectors, 2)
    gd_off = len(out) // SECTOR
    gdb = struct.pack("<%dI" % n_gts, *gd)
    out += gdb + bytes(gd_sectors * SECTOR - len(gdb))
    out += marker(1, 3)
    out += header_bytes(cap, gs, 1, desc_size, gd_off, overhead)
    out += marker(0, 0)
    write_file(os.path.join(args.outdir, fname), out)
    write_outputs(args, img.data)
    return ("stream-vmware: %d sectors, grain %d, %d GTs with entries of %d, "
            "%d grains (%d raw deflate), gd at %d" % (
                cap, gs, len(gts), n_gts, ngrains, nraw, gd_off))


# ----------------------------------------------------- flat-zero-sparse ----

def parse_layout(spec, cap):
    """'flat:N@OFF,zero:N,sparse:N,flat:rest' -> [(kind, sectors, off)]."""
    out = []
    used = 0
    for i, item in enumerate(spec.split(",")):
        kind, _, rest = item.partition(":")
        off = 0
        if "@" in rest:
            rest, _, o = rest.partition("@")
            off = int(o)
        if rest == "rest":
            if i != len(spec.split(",")) - 1:
                die("'rest' only for the last extent")
            n = cap - used
        else:
            n = int(rest)
        if kind not in ("flat", "zero", "sparse") or n <= 0:
            die("bad layout item %r" % item)
        out.append((kind, n, off))
        used += n
    if used != cap:
        die("layout covers %d sectors, RAW has %d" % (used, cap))
    return out


def build_fzs(args, img):
    if args.parent:
        die("flat-zero-sparse disks cannot be deltas here")
    cap = img.sectors
    if args.layout:
        layout = parse_layout(args.layout, cap)
    else:
        if cap < 16:
            die("RAW too small for the default layout")
        a = cap // 4 + 3
        b = cap // 2 - 5
        c = 3 * cap // 4 + 1
        layout = [("flat", a, 17), ("zero", b - a, 0), ("sparse", c - b, 0),
                  ("flat", cap - c, 0)]
    lines, twin = [], []
    expected = bytearray(img.data)
    pos = 0
    nflat = nsparse = 0
    for kind, n, off in layout:
        chunk = img.data[pos * SECTOR:(pos + n) * SECTOR]
        if kind == "flat":
            nflat += 1
            fn = "%s-f%03d.vmdk" % (args.name, nflat)
            # junk in front of the offset, so a reader ignoring it fails
            write_file(os.path.join(args.outdir, fn),
                       bytes([0xEE]) * (off * SECTOR) + chunk)
            lines.append('RW %d FLAT "%s" %d' % (n, fn, off))
            twin.append(lines[-1])
        elif kind == "zero":
            lines.append("RW %d ZERO" % n)
            zf = "%s-zero.raw" % args.name
            with open(os.path.join(args.outdir, zf), "wb") as f:
                f.truncate(n * SECTOR)
            twin.append('RW %d FLAT "%s" 0' % (n, zf))
            expected[pos * SECTOR:(pos + n) * SECTOR] = bytes(n * SECTOR)
        else:
            nsparse += 1
            fn = "%s-s%03d.vmdk" % (args.name, nsparse)
            make_hosted_sparse(chunk, os.path.join(args.outdir, fn))
            lines.append('RW %d SPARSE "%s"' % (n, fn))
            twin.append(lines[-1])
            # the extent alone, for qemu-img: QEMU 7.2 reads a partial last
            # grain of a SPARSE extent past the extent's end (zeros instead
            # of the next extent's bytes), so a twin of the whole disk is
            # only right when such an extent comes last
            write_file(os.path.join(args.outdir, "%s-s%03d-qemu.vmdk"
                                    % (args.name, nsparse)),
                       descriptor("twoGbMaxExtentSparse", args.cid,
                                  0xFFFFFFFF, [lines[-1]], n))
        pos += n
    write_file(os.path.join(args.outdir, args.name + ".vmdk"),
               descriptor(args.create_type or "custom", args.cid, 0xFFFFFFFF,
                          lines, cap))
    write_file(os.path.join(args.outdir, args.name + "-qemu.vmdk"),
               descriptor("twoGbMaxExtentSparse", args.cid, 0xFFFFFFFF,
                          twin, cap))
    write_outputs(args, bytes(expected))
    return "flat-zero-sparse: " + "; ".join(lines)


def make_hosted_sparse(chunk, path):
    """A hosted sparse extent (KDMV, empty descriptor area) holding chunk,
    made by qemu-img as the first extent of a twoGbMaxExtentSparse disk."""
    with tempfile.TemporaryDirectory() as td:
        src = os.path.join(td, "slice.raw")
        write_file(src, chunk)
        dst = os.path.join(td, "t.vmdk")
        subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "vmdk",
                        "-o", "subformat=twoGbMaxExtentSparse", src, dst],
                       check=True)
        shutil.move(os.path.join(td, "t-s001.vmdk"), path)


# ------------------------------------------------------------- readstream ----

def readstream(argv):
    """A minimal reader for what build_stream writes (footer -> GD -> GT ->
    grain markers), inflating zlib or raw deflate: checks --raw-deflate
    files, which qemu-img refuses."""
    if len(argv) != 2:
        die("usage: mkesx.py readstream FILE OUT.raw")
    d = read_raw(argv[0])
    if d[:4] != b"KDMV":
        die("not a hosted sparse file")
    hdr = d[:SECTOR]
    if struct.unpack_from("<Q", hdr, 56)[0] == GD_AT_END:
        fm, eos = d[-1536:-1024], d[-512:]
        if (struct.unpack_from("<II", fm, 8) != (0, 3) or
                any(eos) or d[-1024:-1020] != b"KDMV"):
            die("bad footer/EOS")
        hdr = d[-1024:-512]
    cap, gs = struct.unpack_from("<QQ", hdr, 12)
    ngte = struct.unpack_from("<I", hdr, 44)[0]
    gd_off = struct.unpack_from("<Q", hdr, 56)[0]
    gb = gs * SECTOR
    n_grains = ceil_div(cap, gs)
    out = bytearray(cap * SECTOR)
    for gdi in range(ceil_div(n_grains, ngte)):
        gt = struct.unpack_from("<I", d, gd_off * SECTOR + 4 * gdi)[0]
        if not gt:
            continue
        for slot in range(ngte):
            g = gdi * ngte + slot
            if g >= n_grains:
                break
            gte = struct.unpack_from("<I", d, gt * SECTOR + 4 * slot)[0]
            if not gte:
                continue
            lba, size = struct.unpack_from("<QI", d, gte * SECTOR)
            if lba != g * gs or size == 0:
                die("grain %d: bad marker (lba %d, size %d)" % (g, lba, size))
            payload = d[gte * SECTOR + 12:gte * SECTOR + 12 + size]
            try:
                data = zlib.decompress(payload)
            except zlib.error:
                data = zlib.decompress(payload, -15)
            valid = min(gb, cap * SECTOR - g * gb)
            if len(data) != valid:
                die("grain %d inflates to %d bytes, not %d"
                    % (g, len(data), valid))
            out[g * gb:g * gb + valid] = data
    write_file(argv[1], bytes(out))
    return 0


# ------------------------------------------------------------------ mkraw ----

def parse_size(s):
    mult = {"K": 1024, "M": 1024 * 1024}
    if s and s[-1].upper() in mult:
        return int(s[:-1]) * mult[s[-1].upper()]
    return int(s)


def mkraw(argv):
    ap = argparse.ArgumentParser(prog="mkesx.py mkraw")
    ap.add_argument("out")
    ap.add_argument("size", type=parse_size)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--from", dest="base")
    a = ap.parse_args(argv)
    rnd = random.Random(a.seed)
    size = a.size
    if a.base:
        buf = bytearray(read_raw(a.base))
        if len(buf) != size:
            die("--from image has %d bytes, not %d" % (len(buf), size))
        edits = 12
    else:
        buf = bytearray(size)
        edits = 24
    for i in range(edits):
        length = rnd.choice([1, 300, 512, 4096, 5000, 65536, 70000, 200000])
        length = min(length, size)
        off = rnd.randrange(0, size - length + 1)
        if a.base and i % 3 == 1:
            kind = "zero"   # whole grains of the parent's data hidden
            length = min(size, rnd.choice([65536, 70000, 200000]))
            off = rnd.randrange(0, size - length + 1)
        else:
            kind = rnd.choice(["random", "random", "pattern"])
        if kind == "random":
            buf[off:off + length] = rnd.randbytes(length)
        elif kind == "pattern":
            buf[off:off + length] = bytes([rnd.randrange(1, 256)]) * length
        else:
            buf[off:off + length] = bytes(length)
    # always data at the very start and in the last sector (and last byte)
    if not a.base:
        buf[0:1000] = rnd.randbytes(min(1000, size))
    tail = min(size, 300)
    buf[size - tail:] = rnd.randbytes(tail)
    write_file(a.out, bytes(buf))
    return 0


# ------------------------------------------------------------------- main ----

def main(argv):
    if len(argv) > 1 and argv[1] == "mkraw":
        return mkraw(argv[2:])
    if len(argv) > 1 and argv[1] == "readstream":
        return readstream(argv[2:])
    ap = argparse.ArgumentParser(
        prog="mkesx.py", description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kind", choices=["cowd", "sesparse", "stream-vmware",
                                     "flat-zero-sparse"])
    ap.add_argument("raw")
    ap.add_argument("outdir")
    ap.add_argument("--name", default="disk",
                    help="base name of the files (default disk)")
    ap.add_argument("--cid", default=None, help="CID in hex (default: "
                    "derived from the content)")
    ap.add_argument("--grain", type=int, default=None,
                    help="grain size in sectors (cowd default 8, "
                    "stream-vmware default 128)")
    ap.add_argument("--parent", help="parent VMDK: make a delta link")
    ap.add_argument("--parent-cid", help="parentCID in hex (default: the "
                    "parent's CID)")
    ap.add_argument("--parent-raw", help="the parent's raw content")
    ap.add_argument("--parent-hint", help="parentFileNameHint (default: the "
                    "parent's path relative to OUTDIR)")
    ap.add_argument("--overlay", action="store_true",
                    help="delta stores RAW's non-zero grains over the parent")
    ap.add_argument("--shuffle", action="store_true",
                    help="allocate grains in a pseudo-random order")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--zero-grains", action="store_true",
                    help="sesparse: type-2 zero grains")
    ap.add_argument("--unmapped", type=int, default=0,
                    help="sesparse: N type-1 (unmapped) grains")
    ap.add_argument("--slot-base", type=int, default=0,
                    help="sesparse: first grain slot used (>= 4096 exercises "
                    "the high part of the slot encoding)")
    ap.add_argument("--raw-deflate", action="store_true",
                    help="stream-vmware: every second grain raw deflate")
    ap.add_argument("--gts-at-end", action="store_true",
                    help="stream-vmware: all GTs after the grains")
    ap.add_argument("--overhead", type=int, default=None,
                    help="stream-vmware: overHead sectors (default 128)")
    ap.add_argument("--desc-sectors", type=int, default=None,
                    help="stream-vmware: descriptorSize sectors")
    ap.add_argument("--layout", help="flat-zero-sparse: extents as "
                    "'flat:N@OFF,zero:N,sparse:N,flat:rest' (sectors)")
    ap.add_argument("--create-type", help="flat-zero-sparse: createType "
                    "(default custom)")
    ap.add_argument("--sparse-raw", action="store_true",
                    help="cowd, sesparse: RAW is a sparse file of any size, "
                    "read by its data ranges only; no expected.raw; no "
                    "--parent, --unmapped, --zero-grains")
    args = ap.parse_args(argv[1:])

    if args.sparse_raw:
        if args.kind not in ("cowd", "sesparse") or args.parent \
                or args.unmapped or args.zero_grains:
            die("--sparse-raw: cowd or sesparse, without --parent, "
                "--unmapped, --zero-grains")
        img = SparseRaw(args.raw)
        if not img.size:
            die("%s is empty" % args.raw)
        if args.kind == "cowd" and img.sectors >= 1 << 32:
            die("COWD capacity is a 32-bit sector count: at most 2 TiB - 512")
        seed = b"%d" % img.size
    else:
        raw = read_raw(args.raw)
        if not raw:
            die("%s is empty" % args.raw)
        img = Image(raw)
        seed = img.data
    os.makedirs(args.outdir, exist_ok=True)
    if args.cid is None:
        args.cid = int.from_bytes(
            hashlib.sha256(seed + args.kind.encode()).digest()[:4],
            "little") & 0x7FFFFFFF
    else:
        args.cid = int(args.cid, 16)
    build = {"cowd": build_cowd, "sesparse": build_sesparse,
             "stream-vmware": build_stream,
             "flat-zero-sparse": build_fzs}[args.kind]
    print(build(args, img))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
