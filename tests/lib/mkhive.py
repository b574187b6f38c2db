#!/usr/bin/env python3
"""mkhive.py OUT [REGFILE]: a Windows registry hive (regf) for the guest
inspection tests: an empty one, then REGFILE (regedit's text format) merged
into it with hivex's own hivexregedit --merge, every parent key of REGFILE's
keys added before it (hivexregedit creates a key only under an existing one).

hivex can edit a hive but not create one, so this writes the smallest valid
file from the format's published description: the 4 KiB base block
("regf", sequence numbers, version 1.3, the root cell's offset, the hive
bins' size, the XOR checksum of its first 508 bytes) and one 4 KiB hive bin
("hbin") whose cells are the root key node ("nk", flags hive-entry |
no-delete | compressed name), the security cell ("sk", referenced by the
root, pointing to itself) that hivex needs when it adds keys, and one free
cell covering the rest of the bin."""
import re
import struct
import subprocess
import sys
import tempfile

FILETIME = 0x01D9000000000000  # any time will do; fixed for reproducible files


def cell(payload):
    size = (len(payload) + 4 + 7) & ~7
    return struct.pack("<i", -size) + payload + b"\0" * (size - 4 - len(payload))


def main():
    out = sys.argv[1]
    name = b"ROOT"
    bin_size = 4096
    cells_at = 32                       # first cell, from the bin's start
    # security descriptor: self-relative, no owner, group, SACL or DACL
    sd = struct.pack("<BBHIIII", 1, 0, 0x8000, 0, 0, 0, 0)
    nk_len = 4 + 76 + len(name)
    nk_off = cells_at                   # offsets are from the first bin's start
    sk_off = nk_off + ((nk_len + 7) & ~7)
    nk = struct.pack("<2sHQ15IHH", b"nk", 0x2C, FILETIME, 0, 0xFFFFFFFF,
                     0, 0, 0xFFFFFFFF, 0xFFFFFFFF, 0, 0xFFFFFFFF, sk_off, 0xFFFFFFFF,
                     0, 0, 0, 0, 0, len(name), 0) + name
    sk = struct.pack("<2sHIIII", b"sk", 0, sk_off, sk_off, 1, len(sd)) + sd
    cells = cell(nk) + cell(sk)
    free = bin_size - cells_at - len(cells)
    cells += struct.pack("<i", free) + b"\0" * (free - 4)
    hbin = struct.pack("<4sIIQQI", b"hbin", 0, bin_size, 0, FILETIME, 0) + cells
    assert len(hbin) == bin_size
    base = bytearray(4096)
    struct.pack_into("<4sIIQIIIIIII", base, 0, b"regf", 1, 1, FILETIME, 1, 3, 0, 1,
                     nk_off, bin_size, 1)
    fname = "\\??\\C:\\test\\hive".encode("utf-16-le")[:64]
    base[48:48 + len(fname)] = fname
    csum = 0
    for i in range(0, 508, 4):
        csum ^= struct.unpack_from("<I", base, i)[0]
    if csum == 0xFFFFFFFF:
        csum = 0xFFFFFFFE
    elif csum == 0:
        csum = 1
    struct.pack_into("<I", base, 508, csum)
    with open(out, "wb") as f:
        f.write(bytes(base) + hbin)
    if len(sys.argv) > 2:
        merge(out, sys.argv[2])


def merge(hive, regfile):
    text = open(regfile, encoding="utf-8").read()
    seen, lines = set(), []
    for line in text.splitlines():
        m = re.match(r"^\[(\\.*)\]$", line)
        if m:
            parts = m.group(1).strip("\\").split("\\")
            for i in range(1, len(parts)):
                parent = "\\" + "\\".join(parts[:i])
                if parent.lower() not in seen:
                    seen.add(parent.lower())
                    lines += ["[%s]" % parent, ""]
            seen.add(m.group(1).lower())
        lines.append(line)
    with tempfile.NamedTemporaryFile("w", suffix=".reg", delete=False) as f:
        f.write("\n".join(lines) + "\n")
    subprocess.run(["hivexregedit", "--merge", hive, f.name], check=True)


if __name__ == "__main__":
    main()
