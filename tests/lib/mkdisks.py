#!/usr/bin/env python3
"""Byte-level disk crafting for tests/integration/discover.sh.

  mkdisks.py mbr IMG LBA [--id HEX] [ENTRY...]
        write an MBR/EBR sector at LBA (512-byte sectors) holding up to four
        entries TYPE:START:SIZE (TYPE hex, START/SIZE in sectors, START
        relative as the sector's reader will take it) and 0x55AA
  mkdisks.py ebr-chain IMG EX_START N
        N EBRs, one every 2 sectors from EX_START, each with a one-sector
        logical partition and a link to the next (an absurdly long chain)
  mkdisks.py gpt-entries IMG COUNT
        set both GPT headers' partition entry count to COUNT and fix the
        header CRCs (the entry-array CRCs are left as they are)
  mkdisks.py gpt-set IMG N FIRST LAST
        set GPT entry N's (1-based) first and last LBA in both entry arrays
        and fix every CRC
  mkdisks.py lvm2-label IMG OFFSET UUID32
        an LVM2 physical volume label ("LABELONE", sector 1 of the volume at
        byte OFFSET) with the 32-character PV UUID; prints the UUID as blkid
        shows it
  mkdisks.py luks1 IMG OFFSET UUID
        a LUKS1 header at byte OFFSET with the given UUID
  mkdisks.py random IMG SEED
        a 4 MiB disk with a random, mostly broken partition table: MBRs with
        random entries and EBR chains (links anywhere, loops), or GPTs with
        random entries and counts, CRCs fixed or not
"""
import random
import struct
import sys
import zlib

SECTOR = 512


def pwrite(path, offset, data):
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)


def pread(path, offset, length):
    with open(path, "rb") as f:
        f.seek(offset)
        return f.read(length)


def mbr_entry(typ, start, size, boot=0):
    return struct.pack("<B3sB3sII", boot, b"\0\0\0", typ, b"\0\0\0", start, size)


def cmd_mbr(args):
    path, lba = args[0], int(args[1])
    rest = args[2:]
    disk_id = None
    if rest[:1] == ["--id"]:
        disk_id = int(rest[1], 16)
        rest = rest[2:]
    sec = bytearray(pread(path, lba * SECTOR, SECTOR).ljust(SECTOR, b"\0"))
    sec[446:510] = bytes(64)
    for i, e in enumerate(rest):
        typ, start, size = e.split(":")
        sec[446 + 16 * i:462 + 16 * i] = mbr_entry(int(typ, 16), int(start), int(size))
    if disk_id is not None:
        sec[440:444] = struct.pack("<I", disk_id)
    sec[510:512] = b"\x55\xaa"
    pwrite(path, lba * SECTOR, bytes(sec))


def cmd_ebr_chain(args):
    path, ex_start, n = args[0], int(args[1]), int(args[2])
    with open(path, "r+b") as f:
        for k in range(n):
            e = bytearray(SECTOR)
            e[446:462] = mbr_entry(0x83, 1, 1)
            if k + 1 < n:
                e[462:478] = mbr_entry(0x05, (k + 1) * 2, 2)
            e[510:512] = b"\x55\xaa"
            f.seek((ex_start + 2 * k) * SECTOR)
            f.write(e)


def gpt_headers(path):
    """(offset, header bytes) of the primary and the backup header."""
    with open(path, "rb") as f:
        f.seek(0, 2)
        size = f.tell()
    out = []
    for off in (SECTOR, size - SECTOR):
        h = bytearray(pread(path, off, SECTOR))
        if h[:8] != b"EFI PART":
            raise SystemExit("no GPT header at %d" % off)
        out.append((off, h))
    return out


def fix_header_crc(h):
    hsize = struct.unpack_from("<I", h, 12)[0]
    struct.pack_into("<I", h, 16, 0)
    struct.pack_into("<I", h, 16, zlib.crc32(bytes(h[:hsize])) & 0xffffffff)


def cmd_gpt_entries(args):
    path, count = args[0], int(args[1])
    for off, h in gpt_headers(path):
        struct.pack_into("<I", h, 80, count)
        fix_header_crc(h)
        pwrite(path, off, bytes(h))


def cmd_gpt_set(args):
    path, n, first, last = args[0], int(args[1]), int(args[2]), int(args[3])
    for off, h in gpt_headers(path):
        lba, count, esize = struct.unpack_from("<QII", h, 72)
        ents = bytearray(pread(path, lba * SECTOR, count * esize))
        struct.pack_into("<QQ", ents, (n - 1) * esize + 32, first, last)
        pwrite(path, lba * SECTOR, bytes(ents))
        struct.pack_into("<I", h, 88, zlib.crc32(bytes(ents)) & 0xffffffff)
        fix_header_crc(h)
        pwrite(path, off, bytes(h))


def lvm_crc(data):
    # LVM's CRC-32: the reflected IEEE polynomial, initial value 0xf597a6cf,
    # no final inversion (zlib's crc32 inverts on the way in and out)
    return zlib.crc32(data, 0xf597a6cf ^ 0xffffffff) ^ 0xffffffff


def cmd_lvm2_label(args):
    path, offset, uuid = args[0], int(args[1]), args[2].encode()
    assert len(uuid) == 32
    sec = bytearray(SECTOR)
    sec[0:8] = b"LABELONE"
    struct.pack_into("<Q", sec, 8, 1)          # sector_xl: where the label is
    struct.pack_into("<I", sec, 20, 32)        # offset_xl: pv_header offset
    sec[24:32] = b"LVM2 001"
    sec[32:64] = uuid                          # pv_header.pv_uuid
    struct.pack_into("<Q", sec, 64, 8 << 20)   # device_size_xl
    struct.pack_into("<I", sec, 16, lvm_crc(bytes(sec[20:])))
    pwrite(path, offset + SECTOR, bytes(sec))
    u = uuid.decode()
    parts, i = [], 0
    for n in (6, 4, 4, 4, 4, 4, 6):
        parts.append(u[i:i + n])
        i += n
    print("-".join(parts))


def cmd_luks1(args):
    path, offset, uuid = args[0], int(args[1]), args[2].encode()
    h = bytearray(SECTOR * 2)
    h[0:6] = b"LUKS\xba\xbe"
    struct.pack_into(">H", h, 6, 1)
    h[8:8 + 3] = b"aes"
    h[40:40 + 10] = b"xts-plain64"
    h[72:72 + 6] = b"sha256"
    struct.pack_into(">II", h, 104, 4096, 64)   # payload offset, key bytes
    h[168:168 + len(uuid)] = uuid
    pwrite(path, offset, bytes(h))


def cmd_random(args):
    path, seed = args[0], int(args[1])
    rnd = random.Random(seed)
    nsec = 8192
    img = bytearray(nsec * SECTOR)

    def rnd_sector():
        return rnd.choice([0, 1, 2, 63, 2048, nsec - 1, nsec, nsec + 1,
                           0xffffffff, rnd.randrange(nsec), rnd.randrange(1 << 32)])

    def rnd_type():
        return rnd.choice([0x83, 0x05, 0x0f, 0x85, 0x07, 0xee, 0x00, 0x82,
                           0xa5, 0x8e, rnd.randrange(256)])

    def put_table(lba, n):
        sec = img[lba * SECTOR:(lba + 1) * SECTOR]
        for i in range(n):
            boot = 0x80 if rnd.random() < 0.1 else 0
            sec[446 + 16 * i:462 + 16 * i] = mbr_entry(rnd_type(), rnd_sector(),
                                                       rnd_sector(), boot)
        sec[510:512] = b"\x55\xaa"
        img[lba * SECTOR:(lba + 1) * SECTOR] = sec

    if rnd.random() < 0.6:
        put_table(0, 4)
        for _ in range(rnd.randrange(40)):      # EBRs anywhere
            lba = rnd.randrange(1, nsec)
            put_table(lba, rnd.randrange(1, 5))
    else:
        put_table(0, 1)
        img[446 + 4] = 0xee
        if rnd.random() < 0.9:                  # a valid protective MBR
            struct.pack_into("<II", img, 446 + 8, 1, nsec - 1)
        count = rnd.choice([128] * 6 + [0, 1, 4, 129, 1000, 16384, 16385,
                                        1 << 20, 0xffffffff])
        esize = rnd.choice([128] * 8 + [0, 64, 256])
        ents = bytearray(min(count * esize, 64 * SECTOR))
        for i in range(min(len(ents) // esize if esize else 0, 200)):
            if rnd.random() < 0.3:
                e = bytearray(rnd.randbytes(esize))
                if rnd.random() < 0.7:          # mostly inside the usable area
                    first = rnd.randrange(34, nsec)
                    last = first + rnd.randrange(-5, 3000)
                else:
                    first, last = rnd_sector(), rnd_sector()
                struct.pack_into("<QQ", e, 32, first, last)
                ents[i * esize:(i + 1) * esize] = e
        img[2 * SECTOR:2 * SECTOR + len(ents)] = ents
        h = bytearray(SECTOR)
        h[0:8] = b"EFI PART"
        struct.pack_into("<IIIIQQQQ16sQIII", h, 8, 0x10000,
                         rnd.choice([92, 92, 91, 512, 513]), 0, 0, 1, nsec - 1,
                         rnd.choice([34] * 4 + [0, nsec]),
                         rnd.choice([nsec - 34] * 4 + [nsec, 1 << 40]),
                         rnd.randbytes(16), 2, count, esize,
                         zlib.crc32(bytes(ents)) if rnd.random() < 0.8 else 0)
        if rnd.random() < 0.9:
            fix_header_crc(h)
        img[SECTOR:2 * SECTOR] = h
        if rnd.random() < 0.5:
            img[(nsec - 1) * SECTOR:nsec * SECTOR] = h
    with open(path, "wb") as f:
        f.write(img)


def main():
    cmds = {"mbr": cmd_mbr, "ebr-chain": cmd_ebr_chain,
            "gpt-entries": cmd_gpt_entries, "gpt-set": cmd_gpt_set,
            "lvm2-label": cmd_lvm2_label, "luks1": cmd_luks1,
            "random": cmd_random}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        sys.stderr.write(__doc__)
        sys.exit(2)
    cmds[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
