#!/usr/bin/env python3
"""Summarise one crash-hotplug log: the DIMM's range (the System RAM ranges
of /proc/iomem after the hotplug that were not there after the load), the
capture kernel's prstatus count and whether its PT_LOADs cover that range."""
import re
import sys

lines = open(sys.argv[1], errors="replace").read().splitlines()


def ram(tag):
    out = []
    for l in lines:
        m = re.search(rf"HP {tag} iomem\s*([0-9a-f]+)-([0-9a-f]+) : System RAM", l)
        if m:
            out.append((int(m[1], 16), int(m[2], 16) + 1))
    return out


new = [r for r in ram("after-hotplug") if r not in ram("after-load")]
loads = []
prstatus = None
for l in lines:
    m = re.search(r"HP vmcore load (0x[0-9a-f]+)-(0x[0-9a-f]+)", l)
    if m:
        loads.append((int(m[1], 16), int(m[2], 16)))
    m = re.search(r"HP vmcore .*prstatus=(\d+)", l)
    if m:
        prstatus = int(m[1])


def covered(s, e):
    at = s
    for a, b in sorted(loads):
        if a <= at < b:
            at = b
    return at >= e


online = [l.split("online=")[-1] for l in lines if "HP after-hotplug cpu present" in l]
print(f"SUMMARY online CPUs after hotplug: {online[0] if online else '?'}")
print(f"SUMMARY vmcore prstatus={prstatus} loads={len(loads)}")
for s, e in new:
    print(f"SUMMARY new RAM {s:#x}-{e:#x} ({(e - s) >> 20} MiB) covered by PT_LOAD: {'yes' if covered(s, e) else 'no'}")
if not new:
    print("SUMMARY no new System RAM range in /proc/iomem")
