#!/usr/bin/env python3
"""Start-up time and resident memory of `shuqiao serve` (standard library only).

    startup_probe.py --bin shuqiao --data DIR [--mode serve] [--runs 5] [--idle 5] [--searches 20] [--user gat_user]

Each run: spawn `shuqiao MODE --listen 127.0.0.1:PORT --data DIR`, poll GET /readyz every 10 ms until 200 (time from
just before the spawn), wait --idle seconds and read VmRSS from /proc/PID/status, log in and run --searches catalog
searches, read VmRSS again (and VmHWM, the peak), stop the process with SIGTERM. The process is always killed, also
when a step fails. Prints one row per run and min/median/max.
"""

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from urllib.parse import quote

QUERIES = ["企业 登记", "户籍", "社会保险 参保", "不动产", "", "营业执照", "低保", "石家庄"]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def request(port, method, path, body=None, token=None, timeout=5.0):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                out[k] = int(v.split()[0]) / 1024  # MiB
    return out


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def one_run(args, n, logdir):
    port = free_port()
    log = open(os.path.join(logdir, f"startup-{args.mode}-{n}.log"), "wb")
    t0 = time.monotonic()
    proc = subprocess.Popen([args.bin, args.mode, "--listen", f"127.0.0.1:{port}", "--data", args.data],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        ready_ms = None
        first_http_ms = None
        deadline = t0 + args.timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"shuqiao exited with {proc.returncode} (see {log.name})")
            try:
                status, _ = request(port, "GET", "/readyz", timeout=1.0)
                if first_http_ms is None:
                    first_http_ms = (time.monotonic() - t0) * 1000
                if status == 200:
                    ready_ms = (time.monotonic() - t0) * 1000
                    break
            except OSError:
                pass
            time.sleep(0.010)
        if ready_ms is None:
            raise RuntimeError(f"/readyz not 200 after {args.timeout} s")
        time.sleep(args.idle)
        idle = proc_status(proc.pid)
        status, body = request(port, "POST", "/api/v1/auth/login", {"username": args.user, "password": args.password})
        if status != 200:
            raise RuntimeError(f"login: {status} {body[:200]!r}")
        token = json.loads(body)["token"]
        for i in range(args.searches):
            q = QUERIES[i % len(QUERIES)]
            path = "/api/v1/catalog" + (f"?q={quote(q)}" if q else "")
            status, body = request(port, "GET", path, token=token)
            if status != 200:
                raise RuntimeError(f"GET {path}: {status} {body[:200]!r}")
        time.sleep(0.5)
        after = proc_status(proc.pid)
        return {"ready_ms": ready_ms, "http_ms": first_http_ms, "idle_rss": idle["VmRSS"],
                "idle_anon": idle.get("RssAnon", 0), "search_rss": after["VmRSS"], "hwm": after["VmHWM"]}
    finally:
        stop(proc)
        log.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--mode", default="serve", choices=["serve", "demo"])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--idle", type=float, default=5.0)
    ap.add_argument("--searches", type=int, default=20)
    ap.add_argument("--user", default="gat_user")
    ap.add_argument("--password", default="Demo@2026")
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--logdir", default=None)
    args = ap.parse_args()
    logdir = args.logdir or os.path.dirname(os.path.abspath(args.data))
    runs = []
    print(f"{'run':>4} {'first HTTP ms':>13} {'/readyz ms':>10} {'idle RSS MB':>11} {'(anon MB)':>9} "
          f"{'RSS after searches MB':>21} {'peak MB':>8}")
    for n in range(1, max(1, min(args.runs, 50)) + 1):
        r = one_run(args, n, logdir)
        runs.append(r)
        print(f"{n:>4} {r['http_ms']:>13.1f} {r['ready_ms']:>10.1f} {r['idle_rss']:>11.1f} {r['idle_anon']:>9.1f} "
              f"{r['search_rss']:>21.1f} {r['hwm']:>8.1f}", flush=True)
    print()
    print(f"{'shuqiao ' + args.mode:<24} {'min':>8} {'median':>8} {'max':>8}")
    for key, label in [("ready_ms", "start → /readyz (ms)"), ("idle_rss", f"idle RSS after {args.idle:g} s (MB)"),
                       ("search_rss", f"RSS after {args.searches} searches (MB)"), ("hwm", "peak RSS (MB)")]:
        v = [r[key] for r in runs]
        print(f"{label:<32} {min(v):>8.1f} {statistics.median(v):>8.1f} {max(v):>8.1f}")
    ready = statistics.median(r["ready_ms"] for r in runs)
    idle = statistics.median(r["idle_rss"] for r in runs)
    print(f"\nRESULT mode={args.mode} ready_median_ms={ready:.1f} ready_max_ms={max(r['ready_ms'] for r in runs):.1f} "
          f"idle_rss_median_mb={idle:.1f} idle_rss_max_mb={max(r['idle_rss'] for r in runs):.1f}")


if __name__ == "__main__":
    # SIGTERM unwinds like Ctrl-C, so that the `finally` of a run stops the server it started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        main()
    except (RuntimeError, OSError) as e:
        print(f"FAILED: {e}", file=sys.stderr)
        sys.exit(1)
