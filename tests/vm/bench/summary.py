#!/usr/bin/env python3
"""The benchmark's table (tests/vm/bench/run.sh).

Reads the guest's serial log: "BENCH time WHAT TOOL ROUND SECONDS" lines
(guest clock) and "BENCH exec CALL TOOL ROUND" followed by the next
kernel's first line "BENCH up" (the host's stamps: the kernel's clock stops
across kexec). Then runs the host pair --host-a / --host-b in turn and
takes each run's wall time and peak resident memory from wait4. Prints
medians of ours and kexec-tools (or sha256sum) and their ratio.
"""

import argparse
import os
import re
import shlex
import statistics
import subprocess
import sys
import time

STAMP = re.compile(r"^\[\s*(\d+)\.(\d+)\] (.*)$")

# (key, label, our variant[, kexec-tools' variant]): each row is our
# variant beside kexec-tools' ("kt" unless named; "kti" is kexec-tools -i).
ROWS = [
    ("kl-load", "load, kexec_load (ours -c -l: decompressed at load, the default, the "
     "kernel's first load; kexec-tools -l)", "ours"),
    ("kl-load", "load, kexec_load, ours the same again (the unpacked kernel from the cache)",
     "oursw"),
    ("kl-load", "load, kexec_load, ours with --no-decompress-at-load", "nod"),
    ("kl-load-nocheck", "load, kexec_load, both with -i (no digests: the kernel's copy), "
     "ours with --no-decompress-at-load", "ours"),
    ("kf-load", "load, kexec_file_load (-s -l)", "ours"),
    ("crash-load", "crash load, kexec_load (ours -c -p, kexec-tools -p)", "ours"),
    ("version", "start and exit (--version)", "ours"),
    ("unload", "unload after a kexec_load (-u)", "ours"),
    ("unload-file", "unload after a kexec_file_load (-u)", "ours"),
    ("crash-unload", "crash unload (-p -u)", "ours"),
    ("exec-kl", "-e → next kernel's userspace, kexec_load (ours decompressed at load)", "ours"),
    ("exec-kl", "-e → next kernel's userspace, kexec_load, ours with --no-decompress-at-load",
     "nod"),
    ("exec-kf", "-e → next kernel's userspace, kexec_file_load", "ours"),
    ("pre-kl", "  of which before the new kernel's clock, kexec_load", "ours"),
    ("pre-kl", "  the same, ours with --no-decompress-at-load", "nod"),
    ("pre-kf", "  of which before the new kernel's clock, kexec_file_load", "ours"),
    ("exec-kl", "-e → next kernel's userspace, kexec_load, both with -i (no purgatory check)",
     "oursi", "kti"),
    ("pre-kl", "  of which before the new kernel's clock", "oursi", "kti"),
]
# Ours alone: where a load's time goes.
OURS_ONLY = [
    ("dry-run", "ours: the kexec_load's user-space work alone (--dry-run -c -l, the kernel "
     "unpacked: its first load)"),
    ("hash-1cpu", "guest: SHA-256 of 64 MiB on one CPU (busybox sha256sum)"),
    ("hash-2cpu", "guest: the same in two halves on two CPUs at once"),
]


def read_log(path, samples=None):
    """{what: {tool: [seconds]}} and the lines that said FAIL; each `-e`
    sample in order appended to `samples` as (call, tool, downtime,
    before the clock)."""
    times, fails, pending, down = {}, [], None, None
    with open(path, errors="replace") as f:
        for raw in f:
            m = STAMP.match(raw.rstrip("\n"))
            if not m:
                continue
            stamp = int(m.group(1)) + int(m.group(2)) / 100
            words = m.group(3).split()
            if "BENCH" not in words:
                continue
            words = words[words.index("BENCH") + 1:]
            if words[:1] == ["time"] and len(words) == 5:
                what, tool, _round, secs = words[1:]
                if what.endswith("-before-exec"):
                    what = what.replace("-before-exec", "")
                times.setdefault(what, {}).setdefault(tool, []).append(float(secs))
            elif words[:1] == ["exec"] and len(words) == 4:
                pending = ("exec-" + words[1], words[2], stamp)
            elif words == ["up"] and pending:
                what, tool, start = pending
                down = stamp - start
                times.setdefault(what, {}).setdefault(tool, []).append(down)
                pending = None
            elif words[:1] == ["uptime"] and down is not None:
                # The kernel's clock ran for `uptime` of the downtime.
                pre = what.replace("exec-", "pre-")
                times.setdefault(pre, {}).setdefault(tool, []).append(down - float(words[1]))
                if samples is not None:
                    samples.append((what.replace("exec-", ""), tool, down, down - float(words[1])))
                down = None
            elif words[:1] == ["FAIL"]:
                fails.append(" ".join(words[1:]))
    return times, fails


# Peak memory comes from a small process that forks the command and reads
# its rusage (a child's peak also counts the memory of the process it was
# forked from, so measured from Python it would start at Python's size):
# GNU time when installed, else busybox's `time -v`, whose "kbytes" are
# ru_maxrss taken for pages (BusyBox 1.35: 4 times the true figure on 4 KiB
# pages, corrected here).
GNU_TIME = "/usr/bin/time"


def peak_command(cmd):
    if os.path.exists(GNU_TIME):
        return [GNU_TIME, "-f", "MAXRSS %M"] + shlex.split(cmd), 1
    return ["busybox", "time", "-v"] + shlex.split(cmd), 4


def run_host(commands, rounds):
    """Runs the commands in turn, after one warm-up each: wall seconds and
    peak RSS (MiB) of every counted run."""
    out = {key: ([], []) for key, _ in commands}
    for i in range(rounds + 1):
        for key, cmd in commands:
            argv, inflated = peak_command(cmd)
            t0 = time.monotonic()
            p = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True, errors="replace", check=False)
            wall = time.monotonic() - t0
            peak = [int(line.rsplit(maxsplit=1)[1]) for line in p.stderr.splitlines()
                    if line.startswith("MAXRSS ") or "Maximum resident set size" in line]
            if i and peak:
                out[key][0].append(wall)
                out[key][1].append(peak[-1] / inflated / 1024)
    return out


def med(xs):
    return statistics.median(xs) if xs else None


def fmt(x, unit="s"):
    return "-" if x is None else f"{x:.2f} {unit}"


def spread(xs, unit="s"):
    """The median, and with several samples their range: TCG is noisy."""
    if not xs:
        return "-"
    if len(xs) == 1:
        return fmt(xs[0], unit)
    return f"{fmt(med(xs), unit)} ({min(xs):.2f}–{max(xs):.2f})"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("log")
    ap.add_argument("--host-a", action="append", default=[],
                    help="LABEL=COMMAND: ours on the host, one row pair each")
    ap.add_argument("--host-b")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()

    samples = []
    times, fails = read_log(args.log, samples)
    with open(args.log, errors="replace") as f:
        head = [line.split("BENCH ", 1)[1].strip() for line in f
                if "BENCH start" in line or "BENCH sizes" in line]
    print("guest: " + "; ".join(head))
    print()
    print("| what | ours | kexec-tools | ratio | n |")
    print("|---|---|---|---|---|")
    for key, label, variant, *base in ROWS:
        base = base[0] if base else "kt"
        row = times.get(key, {})
        if variant != "ours" and not row.get(variant):
            continue
        ours, kt = med(row.get(variant, [])), med(row.get(base, []))
        ratio = f"{ours / kt:.2f}" if ours is not None and kt else "-"
        n = f"{len(row.get(variant, []))}/{len(row.get(base, []))}"
        print(f"| {label} | {spread(row.get(variant, []))} | {spread(row.get(base, []))} | {ratio} | {n} |")
    for key, label in OURS_ONLY:
        ours = times.get(key, {}).get("ours", [])
        if ours:
            print(f"| {label} | {spread(ours)} | | | {len(ours)} |")
    if args.host_a and args.host_b:
        ours = [tuple(a.split("=", 1)) for a in args.host_a]
        h = run_host(ours + [("sha256sum", args.host_b)], args.rounds)
        bw, bm = h["sha256sum"]
        for label, _ in ours:
            aw, am = h[label]
            print(f"| host: `--dry-run -c -l` of kernel + 200 MB initrd{label} vs `sha256sum` of both, "
                  f"time | {fmt(med(aw))} | {fmt(med(bw))} (sha256sum) | {med(aw) / med(bw):.2f} "
                  f"| {len(aw)}/{len(bw)} |")
            print(f"| host: the same, peak memory | {fmt(med(am), 'MiB')} | {fmt(med(bm), 'MiB')} "
                  f"(sha256sum) | {med(am) / med(bm):.2f} | {len(am)}/{len(bm)} |")
    # Every -e in the order run, with the tool whose -e booted the kernel
    # it ran in: a slow shutdown that follows the kernel, not the tool,
    # shows here.
    if samples:
        print()
        print("| -e, in order | call | tool | kernel booted by | downtime | before the clock |")
        print("|---|---|---|---|---|---|")
        booted_by = "warm-up (kexec-tools -s)"
        for i, (call, tool, down, pre) in enumerate(samples, 1):
            print(f"| {i} | {call} | {tool} | {booted_by} | {down:.2f} s | {pre:.2f} s |")
            booted_by = f"{tool} {call}"
    for fl in fails:
        print(f"guest FAIL: {fl}")
    missing = [k for k, _, v, *_ in ROWS
               if v == "ours" and (not times.get(k, {}).get("ours") or not times.get(k, {}).get("kt"))]
    if fails or missing:
        print("incomplete: " + ", ".join(missing), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
