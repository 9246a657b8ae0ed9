#!/usr/bin/env python3
"""Connection loop and verdict for tests/integration/test_podman5_restart.sh.

  restart_client.py loop PORT PAYLOAD STOPFILE SECONDS
      connects to 127.0.0.1:PORT every 20 ms until STOPFILE exists (or SECONDS
      pass), sends an HTTP request and reads the whole answer; prints one line
      per connection: "START_NS END_NS RESULT", RESULT one of
        ok       the answer ended with PAYLOAD
        cut      an HTTP answer that ended before PAYLOAD (the server was
                 killed while it answered: what a restart itself breaks)
        bad      any other answer (a wrong server)
        refused  ECONNREFUSED: nothing listened on the port
        reset    the connection was reset or closed without an answer
                 (the listener was there, the container's server was not)
        timeout  no answer within 2 s (a hang)
        error:E  any other errno
  restart_client.py verdict LOG WINDOWS
      WINDOWS: lines "NAME START_NS END_NS" (a restart: from the command's
      start to the first good answer after it returned). Fails (exit 1,
      naming the connection) when a connection hung or got a wrong answer,
      when one failed outside every window, or when the last 10 did not all
      succeed; else prints one line per window (failures by kind, the
      outage, and how long nothing listened) and a total.
Bounded: every socket has a 2 s timeout; the loop ends after SECONDS.
"""
import errno
import os
import socket
import sys
import time


def one(port, payload):
    try:
        c = socket.create_connection(("127.0.0.1", port), timeout=2)
    except socket.timeout:
        return "timeout"
    except OSError as e:
        if e.errno == errno.ECONNREFUSED:
            return "refused"
        # (a listener closed with this connection in its accept queue)
        return "reset" if e.errno == errno.ECONNRESET else f"error:{errno.errorcode.get(e.errno, e.errno)}"
    try:
        c.sendall(b"GET / HTTP/1.0\r\n\r\n")
        data = b""
        while True:
            chunk = c.recv(4096)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        return "timeout"
    except ConnectionResetError:
        return "reset"
    except OSError as e:
        return f"error:{errno.errorcode.get(e.errno, e.errno)}"
    finally:
        c.close()
    if not data:
        return "reset"
    if data.rstrip().endswith(payload):
        return "ok"
    return "cut" if data.startswith(b"HTTP/1.") else "bad:" + data[:40].hex()


def loop(port, payload, stopfile, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end and not os.path.exists(stopfile):
        t0 = time.time_ns()
        r = one(port, payload)
        print(t0, time.time_ns(), r, flush=True)
        time.sleep(0.02)


def verdict(logfile, windowsfile):
    conns = []
    with open(logfile) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3:
                conns.append((int(parts[0]), int(parts[1]), parts[2]))
    windows = []
    with open(windowsfile) as f:
        for line in f:
            name, a, b = line.split()
            windows.append((name, int(a), int(b)))
    if len(conns) < 50:
        print(f"only {len(conns)} connections were made")
        return 1
    bad = 0
    for s, e, r in conns:
        if r == "timeout" or r.startswith("bad") or r.startswith("error:"):
            print(f"a connection at {s} ended '{r}' after {(e - s) // 1000000} ms")
            bad += 1
            continue
        if r != "ok" and not any(a <= s <= b for _, a, b in windows):
            print(f"a connection at {s} ended '{r}' outside every restart window")
            bad += 1
    tail = [r for _, _, r in conns[-10:]]
    if tail != ["ok"] * 10:
        print(f"the last 10 connections: {tail}")
        bad += 1
    if bad:
        return 1
    total_fail = 0
    for name, a, b in windows:
        inside = [(s, e, r) for s, e, r in conns if a <= s <= b]
        kinds = {}
        for _, _, r in inside:
            if r != "ok":
                kinds[r] = kinds.get(r, 0) + 1
        total_fail += sum(kinds.values())
        # The outage: from the end of the last good answer before the
        # window's first failure to the start of the first good one after
        # its last failure.
        failed = [s for s, e, r in inside if r != "ok"]
        outage = 0
        if failed:
            before = [e for s, e, r in conns if r == "ok" and s < failed[0]]
            after = [s for s, e, r in conns if r == "ok" and s > failed[-1]]
            outage = (after[0] - before[-1]) // 1000000 if before and after else -1
        refused = [s for s, e, r in inside if r == "refused"]
        # (connections start 20 ms apart and a refusal is immediate)
        no_listener = (refused[-1] - refused[0]) // 1000000 + 20 if refused else 0
        desc = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) or "no failed connection"
        print(f"{name}: {len(inside)} connections in the window, {desc}; outage {outage} ms, "
              f"nothing listened for ~{no_listener} ms (refused connections)")
    print(f"total: {len(conns)} connections, {total_fail} failed, all inside the {len(windows)} restart windows")
    return 0


def main():
    if len(sys.argv) == 6 and sys.argv[1] == "loop":
        loop(int(sys.argv[2]), sys.argv[3].encode(), sys.argv[4], float(sys.argv[5]))
        return 0
    if len(sys.argv) == 4 and sys.argv[1] == "verdict":
        return verdict(sys.argv[2], sys.argv[3])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
