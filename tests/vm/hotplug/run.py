#!/usr/bin/env python3
"""Boot one QEMU guest for the crash-hotplug proof and answer its requests.

The guest prints `HPREQ cpu <socket>` or `HPREQ dimm <id> <MiB>` on the serial
console; this script turns each into QMP commands (device_add of a CPU in the
given socket, or a memory backend plus a pc-dimm) and prints the QMP answers
into the log as `HOST ...` lines. Everything the guest prints is copied to
LOG with host timestamps.

Usage: run.py LOG KERNEL INITRD APPEND [extra qemu args...]
Environment: HP_QEMU_TIMEOUT (s, default 900), HP_SMP, HP_MEM, HP_MACHINE.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time


def qmp_connect(path):
    for _ in range(200):
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(path)
            break
        except OSError:
            time.sleep(0.1)
    else:
        raise SystemExit(f"run.py: cannot connect to QMP socket {path}")
    f = s.makefile("rw")
    qmp_read(f)  # greeting
    qmp(f, {"execute": "qmp_capabilities"})
    return f


def qmp_read(f):
    while True:
        line = f.readline()
        if not line:
            raise SystemExit("run.py: QMP socket closed")
        msg = json.loads(line)
        if "event" not in msg:
            return msg


def qmp(f, cmd):
    f.write(json.dumps(cmd) + "\n")
    f.flush()
    return qmp_read(f)


def main():
    log_path, kernel, initrd, append = sys.argv[1:5]
    extra = sys.argv[5:]
    timeout = float(os.environ.get("HP_QEMU_TIMEOUT", "900"))
    tmp = tempfile.mkdtemp(prefix="hpqmp.")
    sock = os.path.join(tmp, "qmp.sock")
    cmd = [
        "qemu-system-x86_64", "-accel", os.environ.get("HP_ACCEL", "tcg,thread=single"),
        "-M", os.environ.get("HP_MACHINE", "pc"),
        "-cpu", os.environ.get("HP_CPU", "max,-avx,-avx2"),
        "-smp", os.environ.get("HP_SMP", "1,sockets=4,cores=1,threads=1,maxcpus=4"),
        "-m", os.environ.get("HP_MEM", "1536,slots=4,maxmem=4G"),
        "-nographic", "-no-reboot", "-nic", "none",
        "-qmp", f"unix:{sock},server=on,wait=off",
        "-kernel", kernel, "-initrd", initrd, "-append", append,
    ] + extra
    start = time.monotonic()
    with open(log_path, "w", buffering=1) as log:
        log.write("HOST qemu: " + " ".join(cmd) + "\n")
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, start_new_session=True)
        # A guest that hangs silently prints no line to notice it by: a timer
        # ends QEMU, which ends the loop below.
        timer = threading.Timer(timeout, os.killpg, (p.pid, signal.SIGKILL))
        timer.start()
        q = None
        for raw in p.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            now = time.monotonic() - start
            log.write(f"[{now:8.2f}] {line}\n")
            if "HPREQ " not in line:
                continue
            words = line.split("HPREQ ", 1)[1].split()
            if q is None:
                q = qmp_connect(sock)
            if words[0] == "cpu":
                sock_id = int(words[1])
                cmds = [{"execute": "device_add", "arguments": {
                    "driver": os.environ.get("HP_CPU_DRIVER", "max-x86_64-cpu"),
                    "id": f"hpcpu{sock_id}", "socket-id": sock_id,
                    "core-id": 0, "thread-id": 0}}]
            elif words[0] == "dimm":
                name, mib = words[1], int(words[2])
                cmds = [
                    {"execute": "object-add", "arguments": {
                        "qom-type": "memory-backend-ram", "id": f"mem{name}",
                        "size": mib << 20}},
                    {"execute": "device_add", "arguments": {
                        "driver": "pc-dimm", "id": f"dimm{name}",
                        "memdev": f"mem{name}"}},
                ]
            elif words[0] == "query":
                cmds = [{"execute": "query-hotpluggable-cpus"},
                        {"execute": "query-memory-devices"}]
            else:
                log.write(f"HOST unknown request {words}\n")
                continue
            for c in cmds:
                r = qmp(q, c)
                log.write(f"HOST qmp {json.dumps(c)} -> {json.dumps(r)}\n")
        p.wait()
        timer.cancel()
        if time.monotonic() - start >= timeout:
            log.write(f"HOST timeout: QEMU killed after {timeout:.0f}s\n")
        log.write(f"HOST qemu exit {p.returncode} after {time.monotonic() - start:.1f}s\n")


if __name__ == "__main__":
    main()
