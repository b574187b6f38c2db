#!/usr/bin/env python3
"""tests/lib/lvmimg.py: LVM test images from lvm2's own reports.

  lvmimg.py report LVSJSON PVSJSON          the LVs with their segments, as
                                            one JSON object (from lvs/pvs
                                            --reportformat json, --units b)
  lvmimg.py write REPORT VG/LV IMAGE DEV=RAW:OFFSET...
                                            writes IMAGE (a filesystem made
                                            apart) into the raw disk images
                                            at the extents lvs gives the LV
  lvmimg.py read REPORT VG/LV OUT DEV=RAW:OFFSET...
                                            the LV's bytes read back the same
                                            way (for blkid on the expectation)

DEV is a PV's device as pvs names it (/dev/loop3), RAW the image file it
is a loop device of, OFFSET that loop device's offset in it.  Striped
segments follow device-mapper's layout: chunk k on stripe k % N.
"""
import json
import re
import sys


def report(lvs_path, pvs_path):
    lvs = json.load(open(lvs_path))["report"][0]["seg"]
    pvs = json.load(open(pvs_path))["report"][0]["pv"]
    num = lambda s: int(s.rstrip("B")) if s else 0
    out = {"pvs": {}, "lvs": {}}
    for p in pvs:
        out["pvs"][p["pv_name"]] = {"uuid": p["pv_uuid"], "pe_start": num(p["pe_start"]),
                                    "vg": p["vg_name"]}
    for s in lvs:
        key = s["vg_name"] + "/" + s["lv_name"]
        lv = out["lvs"].setdefault(key, {"uuid": s["lv_uuid"], "size": num(s["lv_size"]),
                                         "extent": num(s["vg_extent_size"]), "segs": []})
        areas = []
        for r in s["seg_pe_ranges"].split():
            m = re.match(r"^(.*):(\d+)-(\d+)$", r)
            areas.append((m.group(1), int(m.group(2)), int(m.group(3))))
        lv["segs"].append({"type": s["segtype"], "start": num(s["seg_start"]),
                           "size": num(s["seg_size"]), "stripes": int(s["stripes"]),
                           "stripe_size": num(s["stripe_size"]), "areas": areas})
    json.dump(out, sys.stdout, indent=1, sort_keys=True)


def pieces(rep, name, devs):
    """(lv_offset, raw, raw_offset, length) for every piece of the LV."""
    lv = rep["lvs"][name]
    es = lv["extent"]
    for seg in lv["segs"]:
        n = seg["stripes"]
        def where(a, pe):
            raw, off = devs[a]
            return raw, off + rep["pvs"][a]["pe_start"] + pe * es
        if n == 1:
            a, pe, _ = seg["areas"][0]
            raw, off = where(a, pe)
            yield seg["start"], raw, off, seg["size"]
            continue
        chunk = seg["stripe_size"]
        for k in range(seg["size"] // chunk):
            a, pe, _ = seg["areas"][k % n]
            raw, off = where(a, pe)
            yield seg["start"] + k * chunk, raw, off + (k // n) * chunk, chunk


def devmap(args):
    devs = {}
    for a in args:
        dev, rest = a.split("=", 1)
        raw, off = rest.rsplit(":", 1)
        devs[dev] = (raw, int(off))
    return devs


def main():
    if sys.argv[1] == "report":
        report(sys.argv[2], sys.argv[3])
        return
    rep = json.load(open(sys.argv[2]))
    name, path, devs = sys.argv[3], sys.argv[4], devmap(sys.argv[5:])
    files = {}
    def fh(raw):
        if raw not in files:
            files[raw] = open(raw, "r+b")
        return files[raw]
    if sys.argv[1] == "write":
        img = open(path, "rb")
        for lvoff, raw, off, length in pieces(rep, name, devs):
            img.seek(lvoff)
            data = img.read(length)
            data += b"\0" * (length - len(data))
            f = fh(raw)
            f.seek(off)
            f.write(data)
    else:
        out = open(path, "wb")
        for lvoff, raw, off, length in pieces(rep, name, devs):
            f = fh(raw)
            f.seek(off)
            out.seek(lvoff)
            out.write(f.read(length))
        out.truncate(rep["lvs"][name]["size"])
    for f in files.values():
        f.close()


main()
