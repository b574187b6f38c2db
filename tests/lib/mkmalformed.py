#!/usr/bin/env python3
"""mkmalformed.py OUTDIR -- build a corpus of malformed VMDK files.

Every case is a directory OUTDIR/<case>/ holding the file to open, disk.vmdk,
plus a file `expect`:

    line 1  the error code vixmount-vmdk must report (VMDK_ERR_...), or OK
    line 2  a substring the error message must contain (usually the basename
            of the offending file); absent for OK cases
    line 3  phase=open  -- opening fails: `vixmount-vmdk info` (and
                           `info --json`, `cat`) already fail
            phase=read  -- the disk opens (`info --json` succeeds) and `cat`
                           fails: the bad pointer is only reached when data
                           is read.  Plain `info` walks the allocation map of
                           the top link, so it may fail the same way.

OK cases (damage the engine must work around) have "OK" on line 1, then
optional lines "jq FILTER" (filters that must be true on `info --json`), and
hold reference.raw, the expected output of `vixmount-vmdk cat`, made with
`qemu-img convert` from the unpatched file.

Files outside the case directories (OUTDIR/escape-target-flat.vmdk ...) are
targets that escaping extent/parent paths point at: they are valid, so a
reader that follows such a path gets a working disk instead of the expected
error.

Small valid images come from qemu-img / qemu-io and are then patched; only
the Python standard library is used.  The corpus is deterministic apart from
the CIDs qemu-img picks.
"""

import os
import random
import shutil
import struct
import subprocess
import sys
import zlib

SECTOR = 512
GD_AT_END = 0xFFFFFFFFFFFFFFFF

# hosted sparse header (doc section 2.1), 512 bytes, little-endian, packed
HDR_FMT = "<4sIIQQQQIQQQBBBBBH433s"
HDR_FIELDS = ("magic", "version", "flags", "capacity", "grain", "desc_off",
              "desc_size", "gtes_per_gt", "rgd", "gd", "overhead", "unclean",
              "nl1", "nl2", "nl3", "nl4", "algo", "pad")
assert struct.calcsize(HDR_FMT) == SECTOR


def die(msg):
    sys.stderr.write("mkmalformed.py: %s\n" % msg)
    sys.exit(1)


def run(*cmd, cwd=None):
    r = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    if r.returncode != 0:
        die("command failed (%d): %s\n%s%s" % (
            r.returncode, " ".join(cmd), r.stdout.decode(errors="replace"),
            r.stderr.decode(errors="replace")))
    return r.stdout


# ---- binary helpers ----------------------------------------------------------

def read_header(path, offset=0):
    with open(path, "rb") as f:
        f.seek(offset)
        raw = f.read(SECTOR)
    return dict(zip(HDR_FIELDS, struct.unpack(HDR_FMT, raw)))


def pack_header(h):
    return struct.pack(HDR_FMT, *(h[k] for k in HDR_FIELDS))


def write_header(path, h, offset=0):
    patch(path, offset, pack_header(h))


def patch(path, offset, data):
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)


def read_at(path, offset, n):
    with open(path, "rb") as f:
        f.seek(offset)
        return f.read(n)


def u32_at(path, offset):
    return struct.unpack("<I", read_at(path, offset, 4))[0]


def put_u32(path, offset, v):
    patch(path, offset, struct.pack("<I", v))


def sectors_of(path):
    return os.path.getsize(path) // SECTOR


def gd_entry_offset(h, idx, redundant=False):
    base = h["rgd"] if redundant else h["gd"]
    return base * SECTOR + 4 * idx


def gte_offset(path, h, grain, redundant=False):
    """Byte offset of the GTE of `grain` (in the primary or redundant GT)."""
    n = h["gtes_per_gt"]
    gt = u32_at(path, gd_entry_offset(h, grain // n, redundant))
    if gt == 0:
        die("%s: no grain table for grain %d" % (path, grain))
    return gt * SECTOR + 4 * (grain % n)


# ---- embedded descriptor editing ---------------------------------------------

def read_embedded_desc(path):
    h = read_header(path)
    area = read_at(path, h["desc_off"] * SECTOR, h["desc_size"] * SECTOR)
    return area.split(b"\0", 1)[0].decode()


def write_embedded_desc(path, text):
    """Replace the embedded descriptor keeping the area's byte length
    (NUL padded, as QEMU writes it)."""
    h = read_header(path)
    size = h["desc_size"] * SECTOR
    data = text.encode()
    if len(data) > size:
        die("%s: new descriptor does not fit (%d > %d)" % (path, len(data), size))
    patch(path, h["desc_off"] * SECTOR, data + b"\0" * (size - len(data)))


def desc_get(text, key):
    for line in text.splitlines():
        if line.startswith(key + "="):
            return line[len(key) + 1:].strip().strip('"')
    return None


def desc_set(text, key, value):
    """Set header key `key`; a new key goes right after createType."""
    out, done = [], False
    for line in text.splitlines():
        if line.startswith(key + "="):
            line = "%s=%s" % (key, value)
            done = True
        out.append(line)
    if not done:
        for i, line in enumerate(out):
            if line.startswith("createType="):
                out.insert(i + 1, "%s=%s" % (key, value))
                break
        else:
            die("no createType line to anchor %s" % key)
    return "\n".join(out) + "\n"


def desc_replace(text, old, new):
    if old not in text:
        die("descriptor text %r not found" % old)
    return text.replace(old, new, 1)


# ---- image factories ---------------------------------------------------------

def qimg_sparse(path, size, writes=(), extra_opts=None):
    """qemu-img create a monolithicSparse file and write patterns into it.
    writes: (pattern byte, offset, length) tuples."""
    cmd = ["qemu-img", "create", "-q", "-f", "vmdk"]
    if extra_opts:
        cmd += ["-o", extra_opts]
    run(*cmd, path, str(size))
    if writes:
        io = ["qemu-io", "-f", "vmdk"]
        for pat, off, ln in writes:
            io += ["-c", "write -P 0x%02x %d %d" % (pat, off, ln)]
        run(*io, path)


def to_raw(src, dst, fmt="vmdk"):
    run("qemu-img", "convert", "-f", fmt, "-O", "raw", src, dst)


def det_bytes(seed, n):
    """Deterministic incompressible bytes."""
    return random.Random(seed).randbytes(n)


class Corpus:
    def __init__(self, outdir):
        self.outdir = os.path.abspath(outdir)
        self.names = []
        self.tmp = os.path.join(self.outdir, ".work")
        os.makedirs(self.tmp)

    def case(self, name):
        d = os.path.join(self.outdir, name)
        if name in self.names:
            die("duplicate case " + name)
        self.names.append(name)
        os.makedirs(d)
        return d

    @staticmethod
    def expect(d, code, substring=None, phase="open", jq=(), allow=None):
        """jq: for OK cases, jq filters that must be true on `info --json`.
        allow: an option with which the refused disk opens and reads (a
        positive control: the refusal is the only thing in the way)."""
        with open(os.path.join(d, "expect"), "w") as f:
            if code == "OK":
                f.write("OK\n")
                for flt in jq:
                    f.write("jq %s\n" % flt)
            else:
                f.write("%s\n%s\nphase=%s\n" % (code, substring or "disk.vmdk", phase))
                if allow:
                    f.write("allow %s\n" % allow)

    def finish(self):
        shutil.rmtree(self.tmp)


# ---- templates (made once, copied into cases) --------------------------------

class Templates:
    def __init__(self, c):
        t = c.tmp
        # 1 MiB, one GT, data in grain 0 and grain 5
        self.small = os.path.join(t, "small.vmdk")
        qimg_sparse(self.small, "1M", [(0xab, 0, 65536), (0x5c, 5 * 65536, 4096)])
        # 48 MiB, two GTs (GD index 0 and 1), data in both
        self.two_gt = os.path.join(t, "two-gt.vmdk")
        qimg_sparse(self.two_gt, "48M", [(0xab, 0, 65536), (0xcd, 40 << 20, 65536)])
        # streamOptimized, 1 MiB, three grains of incompressible data
        raw = os.path.join(t, "stream-src.raw")
        with open(raw, "wb") as f:
            f.truncate(1 << 20)
            f.seek(0)
            f.write(det_bytes(1, 65536))
            f.seek(3 * 65536)
            f.write(det_bytes(2, 65536))
            f.seek(15 * 65536 + 512)
            f.write(det_bytes(3, 4096))
        self.stream_raw = raw
        self.stream = os.path.join(t, "stream.vmdk")
        run("qemu-img", "convert", "-f", "raw", "-O", "vmdk", "-o",
            "subformat=streamOptimized", raw, self.stream)
        # a 256-sector raw file for flat extents
        self.flat = os.path.join(t, "flat.raw")
        with open(self.flat, "wb") as f:
            f.write(det_bytes(4, 256 * SECTOR))


def copy(src, d, name="disk.vmdk"):
    dst = os.path.join(d, name)
    shutil.copyfile(src, dst)
    return dst


def flat_descriptor(extent_lines, create_type="monolithicFlat", cid="1234abcd",
                    extra_header=""):
    return ("# Disk DescriptorFile\n"
            "version=1\n"
            "CID=%s\n"
            "parentCID=ffffffff\n"
            "createType=\"%s\"\n"
            "%s"
            "\n"
            "# Extent description\n"
            "%s"
            "\n"
            "# The Disk Data Base\n"
            "#DDB\n"
            "\n"
            "ddb.virtualHWVersion = \"4\"\n"
            "ddb.adapterType = \"ide\"\n") % (cid, create_type, extra_header,
                                               "".join(l + "\n" for l in extent_lines))


def write_file(path, data):
    with open(path, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)


# ---- sparse header cases -----------------------------------------------------

def header_cases(c, T):
    d = c.case("sparse-header-truncated")
    write_file(os.path.join(d, "disk.vmdk"), b"KDMV" + b"\x01\0\0\0" + b"\0" * 92)
    c.expect(d, "VMDK_ERR_TRUNCATED")

    d = c.case("sparse-overhead-past-eof")
    p = copy(T.small, d)
    h = read_header(p)
    h["overhead"] = sectors_of(p) + 1024
    write_header(p, h)
    c.expect(d, "VMDK_ERR_TRUNCATED")

    # overHead (first data sector) inside the embedded descriptor window
    # (sectors 1-20) and below the GD/GTs: the header contradicts itself, and
    # grain pointers into the descriptor or the tables would pass a check
    # against overHead.  A bad header field: VMDK_ERR_FORMAT.
    d = c.case("overhead-inside-descriptor")
    p = copy(T.small, d)
    h = read_header(p)
    h["overhead"] = 8
    write_header(p, h)
    for red in (False, True):     # a grain at sector 10: above overHead,
        put_u32(p, gte_offset(p, h, 5, red), 10)   # inside the descriptor
    c.expect(d, "VMDK_ERR_FORMAT")

    # an embedded descriptor listing two extents (only the file itself can be
    # the extent of an embedded descriptor)
    d = c.case("embedded-two-extents")
    p = copy(T.small, d)
    t = read_embedded_desc(p)
    line = [l for l in t.splitlines() if " SPARSE " in l][0]
    write_embedded_desc(p, desc_replace(t, line, line + "\n" + line.replace("disk.vmdk", "x.vmdk")))
    c.expect(d, "VMDK_ERR_UNSUPPORTED")

    def hcase(name, code, **fields):
        d = c.case(name)
        p = copy(T.small, d)
        h = read_header(p)
        h.update(fields)
        write_header(p, h)
        c.expect(d, code)

    hcase("grain-size-0", "VMDK_ERR_FORMAT", grain=0)
    hcase("grain-size-100", "VMDK_ERR_FORMAT", grain=100)
    hcase("gtes-per-gt-0", "VMDK_ERR_FORMAT", gtes_per_gt=0)
    # 2^62 sectors in a 1 MiB-ish file: above VMDK_MAX_CAPACITY_SECTORS (2^47)
    hcase("capacity-2e62", "VMDK_ERR_LIMIT", capacity=1 << 62)
    hcase("version-4", "VMDK_ERR_UNSUPPORTED", version=4)
    hcase("version-0", "VMDK_ERR_UNSUPPORTED", version=0)
    hcase("incompat-flag-bit18", "VMDK_ERR_UNSUPPORTED", flags=0x3 | (1 << 18))
    # COMPRESSED flag (bit 16) set, compressAlgorithm 0
    hcase("compressed-flag-no-algo", "VMDK_ERR_FORMAT", flags=0x3 | 0x10000, algo=0)
    # compressAlgorithm 1 without the COMPRESSED flag (QEMU then fails every read)
    hcase("algo-without-compressed-flag", "VMDK_ERR_FORMAT", flags=0x3, algo=1)
    # markers flag (bit 17) without compression (only valid with bit 16)
    hcase("markers-flag-without-compression", "VMDK_ERR_FORMAT", flags=0x3 | 0x20000)
    # VALID_NEWLINE_DETECTOR set but the bytes went through a text-mode transfer
    hcase("newline-detector-mangled", "VMDK_ERR_FORMAT", nl1=0x0d, nl2=0x0a,
          nl3=0x0a, nl4=0x0a)

    d = c.case("cowd-header-truncated")
    write_file(os.path.join(d, "disk.vmdk"), b"COWD" + b"\x01\0\0\0\x03\0\0\0" + b"\0" * 88)
    c.expect(d, "VMDK_ERR_TRUNCATED")


# ---- grain directory / grain table pointer cases ------------------------------

def pointer_cases(c, T):
    past_eof = 0x00F00000  # sector ~ 7.5 GiB, far beyond every file here

    # gdOffset (and rgdOffset) beyond the end of the file
    d = c.case("gd-offset-past-eof")
    p = copy(T.two_gt, d)
    h = read_header(p)
    h["gd"] = past_eof
    h["rgd"] = past_eof + 8
    write_header(p, h)
    c.expect(d, "VMDK_ERR_BOUNDS")

    # gdOffset past EOF, redundant GD fine: the engine uses the redundant GD
    d = c.case("gd-offset-past-eof-rgd-ok")
    p = copy(T.two_gt, d)
    h = read_header(p)
    h["gd"] = past_eof
    write_header(p, h)
    to_raw(T.two_gt, os.path.join(d, "reference.raw"))
    c.expect(d, "OK", jq=[".extents[0].redundantGDUsed == true"])

    # primary GD entry 1 past EOF, redundant GD fine: the engine falls back
    d = c.case("gd-entry-past-eof-rgd-ok")
    p = copy(T.two_gt, d)
    h = read_header(p)
    put_u32(p, gd_entry_offset(h, 1), past_eof)
    to_raw(T.two_gt, os.path.join(d, "reference.raw"))
    c.expect(d, "OK", jq=[".extents[0].redundantGDUsed == true"])

    # primary GD entry 0 points into the header sector-range of another GT?
    # no: GD entry past EOF in both copies
    d = c.case("gd-entry-past-eof-rgd-bad")
    p = copy(T.two_gt, d)
    h = read_header(p)
    put_u32(p, gd_entry_offset(h, 1), past_eof)
    put_u32(p, gd_entry_offset(h, 1, redundant=True), past_eof + 4)
    c.expect(d, "VMDK_ERR_BOUNDS")

    # GD entry past EOF, no redundant GD at all (flag bit 1 clear, rgdOffset 0)
    d = c.case("gd-entry-past-eof-no-rgd")
    p = copy(T.two_gt, d)
    h = read_header(p)
    put_u32(p, gd_entry_offset(h, 1), past_eof)
    h["flags"] &= ~0x2
    h["rgd"] = 0
    write_header(p, h)
    c.expect(d, "VMDK_ERR_BOUNDS")

    # GD entry whose 4-sector GT straddles EOF (starts in the last sector)
    d = c.case("gd-entry-straddles-eof")
    p = copy(T.two_gt, d)
    h = read_header(p)
    last = sectors_of(p) - 1
    put_u32(p, gd_entry_offset(h, 1), last)
    put_u32(p, gd_entry_offset(h, 1, redundant=True), last)
    c.expect(d, "VMDK_ERR_BOUNDS")

    # GTE of grain 0 past EOF (primary and redundant GT)
    def gte_case(name, value):
        d = c.case(name)
        p = copy(T.small, d)
        h = read_header(p)
        for red in (False, True):
            put_u32(p, gte_offset(p, h, 0, red), value)
        c.expect(d, "VMDK_ERR_BOUNDS", phase="read")

    gte_case("gte-past-eof", past_eof)
    # grain starts in the file's last sector: 127 of its 128 sectors are past EOF
    gte_case("gte-straddles-eof", sectors_of(T.small) - 1)
    # grain inside the metadata (the primary GD sector, below overHead)
    gte_case("gte-in-metadata", read_header(T.small)["gd"])
    # GTE 1 without the zeroed-grain flag: an ordinary pointer to sector 1,
    # i.e. the embedded descriptor (QEMU serves the descriptor text as data)
    gte_case("gte-one-without-zeroed-flag", 1)


# ---- streamOptimized cases -----------------------------------------------------

def stream_markers(path):
    """[(grain, marker sector)] of the allocated grains of a stream file whose
    GD is at a real offset (as qemu-img writes them)."""
    h = read_header(path)
    out = []
    n = h["gtes_per_gt"]
    grains = -(-h["capacity"] // h["grain"])
    for g in range(grains):
        gt = u32_at(path, h["gd"] * SECTOR + 4 * (g // n))
        if gt == 0:
            continue
        gte = u32_at(path, gt * SECTOR + 4 * (g % n))
        if gte:
            out.append((g, gte))
    return out


def build_gd_at_end_stream(src, dst):
    """Rewrite qemu-img's stream file (GD in front, no footer) VMware-style:
    header with gdOffset = GD_AT_END, embedded descriptor, grain markers,
    GT marker + GTs, GD marker + GD, footer marker + footer, EOS marker.
    Returns (footer-marker byte offset, file size)."""
    h = read_header(src)
    desc = read_at(src, h["desc_off"] * SECTOR, h["desc_size"] * SECTOR)
    n = h["gtes_per_gt"]
    grains = -(-h["capacity"] // h["grain"])
    ngts = -(-grains // n)
    gd_sectors = -(-ngts * 4 // SECTOR)
    gt_sectors = -(-n * 4 // SECTOR)

    hdr = dict(h)
    hdr.update(flags=0x30001, rgd=0, gd=GD_AT_END, desc_off=1,
               desc_size=h["desc_size"], overhead=128)
    out = bytearray(pack_header(hdr))
    out += desc
    out += b"\0" * (hdr["overhead"] * SECTOR - len(out))

    gts = [[0] * n for _ in range(ngts)]
    for g, msec in stream_markers(src):
        m = read_at(src, msec * SECTOR, 12)
        lba, size = struct.unpack("<QI", m)
        blob = read_at(src, msec * SECTOR, 12 + size)
        gts[g // n][g % n] = len(out) // SECTOR
        out += blob + b"\0" * (-len(blob) % SECTOR)

    gd = [0] * ngts
    for i, gt in enumerate(gts):
        if not any(gt):
            continue
        out += struct.pack("<QII", gt_sectors, 0, 1) + b"\0" * 496  # GT marker
        gd[i] = len(out) // SECTOR
        data = struct.pack("<%dI" % n, *gt)
        out += data + b"\0" * (-len(data) % SECTOR)
    out += struct.pack("<QII", gd_sectors, 0, 2) + b"\0" * 496      # GD marker
    gd_sector = len(out) // SECTOR
    data = struct.pack("<%dI" % ngts, *gd)
    out += data + b"\0" * (-len(data) % SECTOR)
    footer_at = len(out)
    out += struct.pack("<QII", 1, 0, 3) + b"\0" * 496               # footer marker
    ftr = dict(hdr)
    ftr["gd"] = gd_sector
    out += pack_header(ftr)
    out += b"\0" * SECTOR                                            # EOS
    write_file(dst, bytes(out))
    return footer_at, len(out)


def stream_cases(c, T):
    marks = stream_markers(T.stream)
    if len(marks) < 2:
        die("stream template has %d grains" % len(marks))

    def marker_case(name, code, mutate, which=0):
        """Patch the marker of the which-th allocated grain: 0 = grain 0
        (64 KiB of random bytes: deflate stored blocks), -1 = the last one
        (4 KiB of random bytes in zeros: Huffman-coded)."""
        d = c.case(name)
        p = copy(T.stream, d)
        m = marks[which][1]
        lba, size = struct.unpack("<QI", read_at(p, m * SECTOR, 12))
        mutate(p, m * SECTOR, lba, size)
        c.expect(d, code, phase="read")

    def flip_middle(p, off, lba, size):
        data = bytearray(read_at(p, off + 12, size))
        mid = size // 2
        for i in range(mid, mid + 16):
            data[i] ^= 0x5A
        patch(p, off + 12, bytes(data))

    def bad_zlib_header(p, off, lba, size):
        patch(p, off + 12, b"\xff\xff")

    def bad_adler(p, off, lba, size):
        # valid deflate data, wrong Adler-32 trailer
        data = bytearray(read_at(p, off + 12, size))
        data[-1] ^= 0xFF
        patch(p, off + 12, bytes(data))

    def truncated_stream_data(p, off, lba, size):
        # the marker claims fewer bytes: inflate ends early (short grain)
        patch(p, off + 8, struct.pack("<I", size // 2))

    def wrong_lba(p, off, lba, size):
        patch(p, off, struct.pack("<Q", lba + 128 * 7))

    def huge_size(p, off, lba, size):
        patch(p, off + 8, struct.pack("<I", 0x7FFFFFF0))

    marker_case("stream-grain-flipped-bytes", "VMDK_ERR_COMPRESSED", flip_middle, -1)
    marker_case("stream-grain-flipped-stored", "VMDK_ERR_COMPRESSED", flip_middle, 0)
    marker_case("stream-grain-bad-zlib-header", "VMDK_ERR_COMPRESSED", bad_zlib_header)
    marker_case("stream-grain-bad-adler32", "VMDK_ERR_COMPRESSED", bad_adler)
    marker_case("stream-grain-short-size", "VMDK_ERR_COMPRESSED", truncated_stream_data)
    marker_case("stream-marker-lba-mismatch", "VMDK_ERR_COMPRESSED", wrong_lba)
    marker_case("stream-marker-size-huge", "VMDK_ERR_COMPRESSED", huge_size)

    # VMware-style stream with GD_AT_END and a footer: must read correctly
    d = c.case("stream-gd-at-end-ok")
    footer_at, size = build_gd_at_end_stream(T.stream, os.path.join(d, "disk.vmdk"))
    shutil.copyfile(T.stream_raw, os.path.join(d, "reference.raw"))
    c.expect(d, "OK", jq=[".extents[0].gdAtEnd == true", ".extents[0].compressed == true"])
    # sanity check of the builder with QEMU (it follows the footer)
    r = subprocess.run(["qemu-img", "compare", "-q", "-f", "vmdk", "-F", "raw",
                        os.path.join(d, "disk.vmdk"), T.stream_raw])
    if r.returncode != 0:
        die("qemu-img does not read the GD_AT_END stream back correctly")

    # the same file without footer marker, footer and EOS
    d = c.case("stream-footer-missing")
    full = read_at(os.path.join(c.outdir, "stream-gd-at-end-ok", "disk.vmdk"), 0, size)
    write_file(os.path.join(d, "disk.vmdk"), full[:footer_at])
    c.expect(d, "VMDK_ERR_FORMAT")

    # cut in the middle of the first grain's compressed data (a stream whose
    # transfer was interrupted): no footer at the end
    d = c.case("stream-cut-mid-grain")
    cut = (128 + 3) * SECTOR + 100
    write_file(os.path.join(d, "disk.vmdk"), full[:cut])
    c.expect(d, "VMDK_ERR_FORMAT")

    # footer present but its gdOffset is still GD_AT_END
    d = c.case("stream-footer-gd-at-end")
    data = bytearray(full)
    ftr = dict(zip(HDR_FIELDS, struct.unpack(HDR_FMT, bytes(data[footer_at + SECTOR:footer_at + 2 * SECTOR]))))
    ftr["gd"] = GD_AT_END
    data[footer_at + SECTOR:footer_at + 2 * SECTOR] = pack_header(ftr)
    write_file(os.path.join(d, "disk.vmdk"), bytes(data))
    c.expect(d, "VMDK_ERR_FORMAT")


# ---- descriptor / path cases ---------------------------------------------------

def descriptor_cases(c, T):
    flat = read_at(T.flat, 0, 256 * SECTOR)

    # escaping relative path; the target exists and is a valid extent
    write_file(os.path.join(c.outdir, "escape-target-flat.vmdk"), flat)
    d = c.case("extent-path-dotdot")
    write_file(os.path.join(d, "disk.vmdk"),
               flat_descriptor(['RW 256 FLAT "../escape-target-flat.vmdk" 0']))
    c.expect(d, "VMDK_ERR_PATH", "escape-target-flat.vmdk", allow="--allow-escape")

    d = c.case("extent-path-dotdot-nested")
    os.makedirs(os.path.join(d, "sub"))
    write_file(os.path.join(d, "disk.vmdk"),
               flat_descriptor(['RW 256 FLAT "sub/../../escape-target-flat.vmdk" 0']))
    c.expect(d, "VMDK_ERR_PATH", "escape-target-flat.vmdk", allow="--allow-escape")

    d = c.case("extent-path-absolute-etc-passwd")
    write_file(os.path.join(d, "disk.vmdk"),
               flat_descriptor(['RW 1 FLAT "/etc/passwd" 0']))
    c.expect(d, "VMDK_ERR_PATH", "/etc/passwd")

    # absolute path to a valid extent in the descriptor's own directory:
    # absolute paths are refused whatever they name
    d = c.case("extent-path-absolute-own-dir")
    write_file(os.path.join(d, "abs-flat.vmdk"), flat)
    write_file(os.path.join(d, "disk.vmdk"),
               flat_descriptor(['RW 256 FLAT "%s" 0' % os.path.join(d, "abs-flat.vmdk")]))
    c.expect(d, "VMDK_ERR_PATH", "abs-flat.vmdk", allow="--allow-escape")

    # createType fullDevice: a physical-disk type, refused as a type
    # (VMDK_ERR_UNSUPPORTED: "valid but not supported: ... type") before any
    # extent is looked at
    d = c.case("extent-device-fulldevice")
    write_file(os.path.join(d, "disk.vmdk"),
               flat_descriptor(['RW 2048 FLAT "/dev/loop0" 0'], create_type="fullDevice"))
    c.expect(d, "VMDK_ERR_UNSUPPORTED", "fullDevice")

    # an ordinary createType whose extent names a device: VMDK_ERR_PATH
    d = c.case("extent-device-path")
    write_file(os.path.join(d, "disk.vmdk"),
               flat_descriptor(['RW 2048 FLAT "/dev/loop0" 0']))
    c.expect(d, "VMDK_ERR_PATH", "/dev/loop0")

    # a symlink in the descriptor's directory leading out of it
    d = c.case("extent-symlink-escape")
    os.symlink("../escape-target-flat.vmdk", os.path.join(d, "link-flat.vmdk"))
    write_file(os.path.join(d, "disk.vmdk"),
               flat_descriptor(['RW 256 FLAT "link-flat.vmdk" 0']))
    c.expect(d, "VMDK_ERR_PATH", "link-flat.vmdk", allow="--allow-escape")

    d = c.case("extent-missing")
    write_file(os.path.join(d, "disk.vmdk"),
               flat_descriptor(['RW 256 FLAT "missing-flat.vmdk" 0']))
    c.expect(d, "VMDK_ERR_NOENT", "missing-flat.vmdk")

    d = c.case("extent-missing-second")
    write_file(os.path.join(d, "first-flat.vmdk"), flat)
    write_file(os.path.join(d, "disk.vmdk"),
               flat_descriptor(['RW 256 FLAT "first-flat.vmdk" 0',
                                'RW 256 FLAT "second-flat.vmdk" 0']))
    c.expect(d, "VMDK_ERR_NOENT", "second-flat.vmdk")

    d = c.case("flat-extent-short")
    write_file(os.path.join(d, "short-flat.vmdk"), flat[:1000])
    write_file(os.path.join(d, "disk.vmdk"),
               flat_descriptor(['RW 256 FLAT "short-flat.vmdk" 0']))
    c.expect(d, "VMDK_ERR_TRUNCATED", "short-flat.vmdk")

    # the file is long enough for SIZE but not for OFFSET + SIZE
    d = c.case("flat-extent-short-by-offset")
    write_file(os.path.join(d, "offs-flat.vmdk"), flat)
    write_file(os.path.join(d, "disk.vmdk"),
               flat_descriptor(['RW 256 FLAT "offs-flat.vmdk" 128']))
    c.expect(d, "VMDK_ERR_TRUNCATED", "offs-flat.vmdk")

    # size caps: a 200 KiB line (> VMDK_MAX_LINE_BYTES) in a < 1 MiB file
    d = c.case("desc-long-line")
    write_file(os.path.join(d, "ext-flat.vmdk"), flat)
    text = flat_descriptor(['RW 256 FLAT "ext-flat.vmdk" 0'])
    write_file(os.path.join(d, "disk.vmdk"), "#" + "x" * (200 * 1024) + "\n" + text)
    c.expect(d, "VMDK_ERR_LIMIT")

    d = c.case("desc-line-1mib")
    write_file(os.path.join(d, "ext-flat.vmdk"), flat)
    write_file(os.path.join(d, "disk.vmdk"),
               text.replace("#DDB\n", "#DDB\n#" + "y" * (1 << 20) + "\n"))
    c.expect(d, "VMDK_ERR_LIMIT")

    # exactly VMDK_MAX_DESCRIPTOR_BYTES (1 MiB - 1) of short lines: accepted;
    # one byte more: refused
    def padded_desc(total):
        body = text
        filler = total - len(body)
        lines = []
        while filler > 0:
            n = min(filler, 1000)
            lines.append("#" + "z" * (n - 2) + "\n" if n >= 2 else "\n")
            filler -= n
        out = body.replace("#DDB\n", "#DDB\n" + "".join(lines))
        assert len(out) == total, (len(out), total)
        return out

    d = c.case("desc-max-size-ok")
    write_file(os.path.join(d, "ext-flat.vmdk"), flat)
    write_file(os.path.join(d, "disk.vmdk"), padded_desc((1 << 20) - 1))
    write_file(os.path.join(d, "reference.raw"), flat)
    c.expect(d, "OK")

    d = c.case("desc-over-1mib")
    write_file(os.path.join(d, "ext-flat.vmdk"), flat)
    write_file(os.path.join(d, "disk.vmdk"), padded_desc(1 << 20))
    c.expect(d, "VMDK_ERR_LIMIT")

    # extent count caps (VMDK_MAX_EXTENTS = 65536)
    for name, count, code in (("desc-65536-zero-extents-ok", 65536, "OK"),
                              ("desc-65537-zero-extents", 65537, "VMDK_ERR_LIMIT"),
                              ("desc-100000-zero-extents", 100000, "VMDK_ERR_LIMIT")):
        d = c.case(name)
        write_file(os.path.join(d, "disk.vmdk"),
                   flat_descriptor(["RW 1 ZERO"] * count, create_type="custom"))
        if code == "OK":
            with open(os.path.join(d, "reference.raw"), "wb") as f:
                f.truncate(count * SECTOR)
        c.expect(d, code)

    d = c.case("desc-no-version")
    write_file(os.path.join(d, "ext-flat.vmdk"), flat)
    write_file(os.path.join(d, "disk.vmdk"), desc_replace(text, "version=1\n", ""))
    c.expect(d, "VMDK_ERR_FORMAT")

    d = c.case("desc-garbage-binary")
    g = bytearray(det_bytes(5, 4096))
    g[0:4] = b"\x7fELF"
    write_file(os.path.join(d, "disk.vmdk"), bytes(g))
    c.expect(d, "VMDK_ERR_NOTVMDK")

    d = c.case("desc-garbage-text")
    write_file(os.path.join(d, "disk.vmdk"),
               "Lorem ipsum dolor sit amet\nconsectetur adipiscing elit\n")
    c.expect(d, "VMDK_ERR_NOTVMDK")

    d = c.case("desc-empty-file")
    write_file(os.path.join(d, "disk.vmdk"), b"")
    c.expect(d, "VMDK_ERR_NOTVMDK")

    d = c.case("desc-no-extents")
    write_file(os.path.join(d, "disk.vmdk"), flat_descriptor([]))
    c.expect(d, "VMDK_ERR_FORMAT")

    d = c.case("desc-bad-cid")
    write_file(os.path.join(d, "ext-flat.vmdk"), flat)
    write_file(os.path.join(d, "disk.vmdk"),
               desc_replace(text, "CID=1234abcd", "CID=zzzzqqqq"))
    c.expect(d, "VMDK_ERR_FORMAT")

    d = c.case("extent-type-lowercase")
    write_file(os.path.join(d, "ext-flat.vmdk"), flat)
    write_file(os.path.join(d, "disk.vmdk"),
               flat_descriptor(['RW 256 flat "ext-flat.vmdk" 0']))
    c.expect(d, "VMDK_ERR_FORMAT")

    d = c.case("extent-type-unknown")
    write_file(os.path.join(d, "ext-flat.vmdk"), flat)
    write_file(os.path.join(d, "disk.vmdk"),
               flat_descriptor(['RW 256 FLATTISH "ext-flat.vmdk" 0']))
    c.expect(d, "VMDK_ERR_FORMAT")

    d = c.case("extent-access-unknown")
    write_file(os.path.join(d, "ext-flat.vmdk"), flat)
    write_file(os.path.join(d, "disk.vmdk"),
               flat_descriptor(['RWX 256 FLAT "ext-flat.vmdk" 0']))
    c.expect(d, "VMDK_ERR_FORMAT")

    d = c.case("extent-unterminated-quote")
    write_file(os.path.join(d, "ext-flat.vmdk"), flat)
    write_file(os.path.join(d, "disk.vmdk"),
               flat_descriptor(['RW 256 FLAT "ext-flat.vmdk 0']))
    c.expect(d, "VMDK_ERR_FORMAT")

    d = c.case("extent-size-overflow")
    write_file(os.path.join(d, "ext-flat.vmdk"), flat)
    write_file(os.path.join(d, "disk.vmdk"),
               flat_descriptor(['RW 99999999999999999999999 FLAT "ext-flat.vmdk" 0']))
    c.expect(d, "VMDK_ERR_FORMAT")

    d = c.case("extent-offset-overflow")
    write_file(os.path.join(d, "ext-flat.vmdk"), flat)
    write_file(os.path.join(d, "disk.vmdk"),
               flat_descriptor(['RW 256 FLAT "ext-flat.vmdk" 99999999999999999999999']))
    c.expect(d, "VMDK_ERR_FORMAT")

    d = c.case("extent-size-negative")
    write_file(os.path.join(d, "ext-flat.vmdk"), flat)
    write_file(os.path.join(d, "disk.vmdk"),
               flat_descriptor(['RW -256 FLAT "ext-flat.vmdk" 0']))
    c.expect(d, "VMDK_ERR_FORMAT")

    # fits in 64 bits, above VMDK_MAX_CAPACITY_SECTORS
    d = c.case("extent-size-above-cap")
    write_file(os.path.join(d, "disk.vmdk"),
               flat_descriptor(["RW %d ZERO" % (1 << 50)], create_type="custom"))
    c.expect(d, "VMDK_ERR_LIMIT")

    # extents of 2^63-1 sectors: the sum would overflow 64 bits (each is
    # above the cap already)
    d = c.case("extent-sizes-sum-overflow")
    write_file(os.path.join(d, "disk.vmdk"),
               flat_descriptor(["RW %d ZERO" % ((1 << 63) - 1)] * 3, create_type="custom"))
    c.expect(d, "VMDK_ERR_LIMIT")

    # sum of several in-cap extents exceeds the cap
    d = c.case("extent-sizes-sum-above-cap")
    write_file(os.path.join(d, "disk.vmdk"),
               flat_descriptor(["RW %d ZERO" % (1 << 46)] * 3, create_type="custom"))
    c.expect(d, "VMDK_ERR_LIMIT")


# ---- parent chain cases ----------------------------------------------------------

def make_child(c, base_name, child_path, size=None):
    """qemu-img create a child of base_name (relative to the child's dir)."""
    cmd = ["qemu-img", "create", "-q", "-f", "vmdk", "-b", base_name, "-F", "vmdk",
           os.path.basename(child_path)]
    if size:
        cmd.append(size)
    run(*cmd, cwd=os.path.dirname(child_path))


def set_link(path, cid, parent_cid, hint):
    t = read_embedded_desc(path)
    t = desc_set(t, "CID", "%08x" % cid)
    t = desc_set(t, "parentCID", "%08x" % parent_cid)
    t = desc_set(t, "parentFileNameHint", '"%s"' % hint)
    write_embedded_desc(path, t)


def chain_cases(c, T):
    base_cid = int(desc_get(read_embedded_desc(T.small), "CID"), 16)

    # parent loop: disk.vmdk -> other.vmdk -> disk.vmdk (CIDs consistent)
    d = c.case("parent-loop")
    copy(T.small, d, "base.vmdk")
    make_child(c, "base.vmdk", os.path.join(d, "disk.vmdk"))
    make_child(c, "base.vmdk", os.path.join(d, "other.vmdk"))
    os.remove(os.path.join(d, "base.vmdk"))
    set_link(os.path.join(d, "disk.vmdk"), 0x11111111, 0x22222222, "other.vmdk")
    set_link(os.path.join(d, "other.vmdk"), 0x22222222, 0x11111111, "disk.vmdk")
    c.expect(d, "VMDK_ERR_CHAIN")

    # the same loop spelled differently: "./disk.vmdk"
    d = c.case("parent-loop-dot-slash")
    copy(T.small, d, "base.vmdk")
    make_child(c, "base.vmdk", os.path.join(d, "disk.vmdk"))
    make_child(c, "base.vmdk", os.path.join(d, "other.vmdk"))
    os.remove(os.path.join(d, "base.vmdk"))
    set_link(os.path.join(d, "disk.vmdk"), 0x11111111, 0x22222222, "other.vmdk")
    set_link(os.path.join(d, "other.vmdk"), 0x22222222, 0x11111111, "./disk.vmdk")
    c.expect(d, "VMDK_ERR_CHAIN")

    d = c.case("parent-self")
    copy(T.small, d, "base.vmdk")
    make_child(c, "base.vmdk", os.path.join(d, "disk.vmdk"))
    os.remove(os.path.join(d, "base.vmdk"))
    set_link(os.path.join(d, "disk.vmdk"), 0x33333333, 0x33333333, "disk.vmdk")
    c.expect(d, "VMDK_ERR_CHAIN")

    # the child's parentCID differs from the parent's CID; the child holds no
    # data, so every read needs the parent
    d = c.case("parent-cid-mismatch")
    copy(T.small, d, "cidbase.vmdk")
    make_child(c, "cidbase.vmdk", os.path.join(d, "disk.vmdk"))
    set_link(os.path.join(d, "disk.vmdk"), 0x44444444, base_cid ^ 0x01010101,
             "cidbase.vmdk")
    c.expect(d, "VMDK_ERR_CID", allow="--no-cid-check")

    d = c.case("parent-missing")
    copy(T.small, d, "gone-base.vmdk")
    make_child(c, "gone-base.vmdk", os.path.join(d, "disk.vmdk"))
    os.remove(os.path.join(d, "gone-base.vmdk"))
    c.expect(d, "VMDK_ERR_NOENT", "gone-base.vmdk")

    # parent hint escaping the directory: the target exists and matches
    shutil.copyfile(T.small, os.path.join(c.outdir, "escape-target-base.vmdk"))
    d = c.case("parent-hint-dotdot")
    copy(T.small, d, "tmp-base.vmdk")
    make_child(c, "tmp-base.vmdk", os.path.join(d, "disk.vmdk"))
    os.remove(os.path.join(d, "tmp-base.vmdk"))
    set_link(os.path.join(d, "disk.vmdk"), 0x55555555, base_cid,
             "../escape-target-base.vmdk")
    c.expect(d, "VMDK_ERR_PATH", "escape-target-base.vmdk", allow="--allow-escape")

    d = c.case("parent-hint-absolute")
    copy(T.small, d, "tmp-base.vmdk")
    make_child(c, "tmp-base.vmdk", os.path.join(d, "disk.vmdk"))
    os.remove(os.path.join(d, "tmp-base.vmdk"))
    set_link(os.path.join(d, "disk.vmdk"), 0x55555555, base_cid,
             os.path.join(c.outdir, "escape-target-base.vmdk"))
    c.expect(d, "VMDK_ERR_PATH", "escape-target-base.vmdk", allow="--allow-escape")

    # child larger than its parent
    d = c.case("parent-capacity-mismatch")
    copy(T.small, d, "capbase.vmdk")
    make_child(c, "capbase.vmdk", os.path.join(d, "disk.vmdk"), "2M")
    c.expect(d, "VMDK_ERR_CHAIN")

    # long chains: 64 links (base + 63 children) open; 71 links do not
    tmpl = os.path.join(c.tmp, "child-tmpl.vmdk")
    shutil.copyfile(T.small, os.path.join(c.tmp, "tmpl-base.vmdk"))
    make_child(c, "tmpl-base.vmdk", tmpl)

    def chain(name, links, code, substring=None):
        d = c.case(name)
        shutil.copyfile(T.small, os.path.join(d, "l000.vmdk"))
        prev, prev_cid = "l000.vmdk", base_cid
        for i in range(1, links):
            cur = "disk.vmdk" if i == links - 1 else "l%03d.vmdk" % i
            shutil.copyfile(tmpl, os.path.join(d, cur))
            cid = 0x60000000 + i
            set_link(os.path.join(d, cur), cid, prev_cid, prev)
            prev, prev_cid = cur, cid
        if code == "OK":
            to_raw(T.small, os.path.join(d, "reference.raw"))
            c.expect(d, code, jq=[".links == %d" % links])
        else:
            c.expect(d, code, substring)

    # VMDK_DEFAULT_MAX_CHAIN = 64 links counted from the disk opened: the
    # message names the deepest link allowed (the one whose parent is refused)
    chain("chain-64-links-ok", 64, "OK")
    chain("chain-65-links", 65, "VMDK_ERR_CHAIN", "l001.vmdk")
    chain("chain-71-links", 71, "VMDK_ERR_CHAIN", "l007.vmdk")


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: mkmalformed.py OUTDIR\n")
        sys.exit(2)
    outdir = sys.argv[1]
    if os.path.exists(outdir) and os.listdir(outdir):
        die("%s exists and is not empty" % outdir)
    os.makedirs(outdir, exist_ok=True)
    c = Corpus(outdir)
    T = Templates(c)
    header_cases(c, T)
    pointer_cases(c, T)
    stream_cases(c, T)
    descriptor_cases(c, T)
    chain_cases(c, T)
    c.finish()
    print("%d cases in %s" % (len(c.names), c.outdir))


if __name__ == "__main__":
    main()
