#!/usr/bin/python3
# What systemd gives a service, as far as isched run can tell: the
# sd_notify() socket ($NOTIFY_SOCKET) and the journal's native socket.
# Binds both, then writes every datagram received as one JSON line to
# notify.jsonl or journal.jsonl in OUTDIR, until killed.  For
# tests/service/drive-unit.sh.
import json
import os
import select
import socket
import sys


def journal_fields(data):
    """The journal's native protocol: KEY=VALUE lines, or KEY\\n<le64 size><value>\\n."""
    fields, i = {}, 0
    while i < len(data):
        nl = data.index(b"\n", i)
        line = data[i:nl]
        if b"=" in line:
            k, v = line.split(b"=", 1)
            i = nl + 1
        else:
            k = line
            size = int.from_bytes(data[nl + 1:nl + 9], "little")
            v = data[nl + 9:nl + 9 + size]
            i = nl + 9 + size + 1
        fields[k.decode()] = v.decode(errors="replace")
    return fields


def bind(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if os.path.exists(path):
        os.unlink(path)
    s.bind(path)
    return s


def main():
    notify_path, journal_path, outdir = sys.argv[1:4]
    os.makedirs(os.path.dirname(journal_path), exist_ok=True)
    socks = {bind(notify_path): "notify", bind(journal_path): "journal"}
    out = {name: open(os.path.join(outdir, name + ".jsonl"), "a", buffering=1) for name in socks.values()}
    open(os.path.join(outdir, "listening"), "w").close()
    while True:
        ready, _, _ = select.select(list(socks), [], [])
        for s in ready:
            data = s.recv(1 << 20)
            name = socks[s]
            if name == "notify":
                rec = {"lines": data.decode(errors="replace").split("\n")}
            else:
                rec = journal_fields(data)
            out[name].write(json.dumps(rec) + "\n")


main()
