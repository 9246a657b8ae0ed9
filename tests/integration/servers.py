#!/usr/bin/python3
"""Test peers for the namespace integration tests (standard library only).

Modes:
  udp-echo ADDR PORT            echo every datagram back; "WHO" is answered with the
                                 sender's "ADDR PORT"
  dns ADDR PORT                 answer A queries: NAME.test -> 192.0.2.55, others NXDOMAIN;
                                 with DNS_LOG=FILE, one line per message: "udp|tcp query NAME",
                                 "udp|tcp junk N bytes", "tcp stray N bytes" (a connection that
                                 ended inside a message)
  udp-client ADDR PORT MESSAGE  send MESSAGE, print the reply (exit 1 on timeout,
                                 3 on ICMP port unreachable, 4 on other ICMP errors)
  echo-async ADDR PORT          TCP echo for many connections at once (asyncio, one thread)
  hold ADDR PORT N REFUSED_OK HOLD   open N TCP connections to an echo-async peer (500
                                connecting at a time), print "open K refused R", echo one
                                byte on each while all are open, keep them HOLD seconds,
                                close; exit 1 on refusals unless REFUSED_OK is 1
  udp-flood ADDR PORT SECONDS [FLOWS]  send 1200-byte datagrams as fast as possible for
                                SECONDS from FLOWS sockets (default 1), ignoring errors
                                and replies; prints how many were sent
  udp-burst ADDR PORT COUNT SIZE  send COUNT numbered datagrams back to back (SIZE bytes,
                                one in the middle a third of that), then read the echoes:
                                prints "ok COUNT" when every one came back intact
  garbage IFNAME COUNT          send COUNT malformed Ethernet frames on IFNAME (AF_PACKET)
  sniff FILE                    raw sockets (IPv4 and IPv6) for ICMP echo requests and UDP
                                datagrams arriving here; appends "icmp SRC" or "udp SRC DPORT"
                                to FILE for each (after a first line "ready"), to show which
                                source address a peer used
  tcp-server ADDR PORT          TCP peer; the client's first line picks the behaviour:
                                  WHO (answer the client's address), ECHO (echo until EOF), SINK (read to EOF, answer the
                                  sha256), SOURCE N (send N pattern bytes, close),
                                  RESET N (send N bytes, then RST), DRAIN N (read N bytes,
                                  then RST), SLOW N (stop reading for 2 s, then SINK)
  tcp-client ADDR PORT ACTION [ARG]   who | echo MSG | upload N | download N | concurrent N |
                                  expect-reset N | upload-reset N | slow N | half-close N;
                                  prints "ok ..."
                                  or exits non-zero with the reason

Attacks on what a guest must not reach, and the tripwires that record them,
are in adversary.py.

Every server exits on its own after --lifetime seconds (default 120), so a
test that dies cannot leave one behind for long; tests also kill them by pid.
"""
import asyncio
import errno
import hashlib
import os
import random
import select
import socket
import struct
import sys
import threading
import time


def lifetime_deadline():
    return time.monotonic() + float(os.environ.get("NETD_TEST_LIFETIME", "120"))


def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def serve_udp(addr, port, handler):
    """Answer each datagram with handler(data, peer) (None: no answer) until the lifetime ends."""
    s = socket.socket(family_of(addr), socket.SOCK_DGRAM)
    s.bind((addr, int(port)))
    s.settimeout(1.0)
    end = lifetime_deadline()
    while time.monotonic() < end:
        try:
            data, peer = s.recvfrom(65535)
        except socket.timeout:
            continue
        reply = handler(data, peer)
        if reply is not None:
            s.sendto(reply, peer)


def udp_echo(addr, port):
    serve_udp(addr, port, lambda data, peer: f"{peer[0]} {peer[1]}".encode() if data == b"WHO" else data)


def dns_answer(query):
    if len(query) < 12:
        return None
    qid, flags, qd = struct.unpack("!HHH", query[:6])
    if qd != 1:
        return None
    # Walk the one question name (no compression in queries).
    i, labels = 12, []
    while i < len(query) and query[i] != 0:
        n = query[i]
        labels.append(query[i + 1:i + 1 + n].decode(errors="replace"))
        i += 1 + n
    qend = i + 5
    if qend > len(query):
        return None
    qtype = struct.unpack("!H", query[i + 1:i + 3])[0]
    question = query[12:qend]
    name = ".".join(labels).lower()
    rd = flags & 0x0100
    if name.endswith(".test") and qtype == 1:
        hdr = struct.pack("!HHHHHH", qid, 0x8180 | rd, 1, 1, 0, 0)
        answer = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton("192.0.2.55")
        return hdr + question + answer
    hdr = struct.pack("!HHHHHH", qid, 0x8183 | rd, 1, 0, 0, 0)
    return hdr + question


def dns_log(line):
    """With DNS_LOG=FILE set, the dns mode records what it got (one line each)."""
    if os.environ.get("DNS_LOG"):
        with open(os.environ["DNS_LOG"], "a") as f:
            f.write(line + "\n")


def dns_query_name(query):
    """The question name of a standard query, else None (junk)."""
    if len(query) < 17 or struct.unpack("!H", query[4:6])[0] != 1 or query[2] & 0xF8:
        return None
    i, labels = 12, []
    while i < len(query) and query[i] != 0:
        labels.append(query[i + 1:i + 1 + query[i]].decode(errors="replace"))
        i += 1 + query[i]
    return ".".join(labels) if i + 5 <= len(query) else None


def dns_tcp_conn(conn):
    """DNS over TCP (RFC 1035 4.2.2): 2-byte length, then the message; many per connection."""
    conn.settimeout(10)
    with conn:
        while True:
            try:
                hdr = conn.recv(2, socket.MSG_WAITALL)
            except OSError:  # reset between messages
                return
            if len(hdr) < 2:
                if hdr:
                    dns_log("tcp stray 1 bytes")
                return
            try:
                query = conn.recv(struct.unpack("!H", hdr)[0], socket.MSG_WAITALL)
            except OSError:  # reset inside a message (what arrived of it is lost to us)
                query = b""
            if len(query) < struct.unpack("!H", hdr)[0]:
                dns_log(f"tcp stray {2 + len(query)} bytes")
                return
            name = dns_query_name(query)
            dns_log(f"tcp query {name}" if name is not None else f"tcp junk {len(query)} bytes")
            reply = dns_answer(query)
            if reply is None:
                return
            conn.sendall(struct.pack("!H", len(reply)) + reply)


def dns_udp(data, peer):
    name = dns_query_name(data)
    dns_log(f"udp query {name}" if name is not None else f"udp junk {len(data)} bytes")
    return dns_answer(data)


def dns(addr, port):
    """DNS on UDP and TCP of addr:port (DNS_LOG: see dns_log)."""
    t = socket.socket(family_of(addr), socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind((addr, int(port)))
    t.listen(64)

    def accept_loop():
        while True:
            conn, _ = t.accept()
            threading.Thread(target=dns_tcp_conn, args=(conn,), daemon=True).start()

    threading.Thread(target=accept_loop, daemon=True).start()
    serve_udp(addr, port, dns_udp)


def udp_client(addr, port, message):
    s = socket.socket(family_of(addr), socket.SOCK_DGRAM)
    s.settimeout(3.0)
    s.connect((addr, int(port)))
    s.send(message.encode())
    try:
        print(s.recv(65535).decode())
    except ConnectionRefusedError:
        print("refused")
        sys.exit(3)
    except socket.timeout:
        print("timeout")
        sys.exit(1)
    except OSError as e:  # ICMP unreachable of another kind (e.g. administratively prohibited)
        print(f"error {errno.errorcode.get(e.errno, e.errno)}")
        sys.exit(4)


def echo_async(addr, port):
    async def handle(reader, writer):
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        writer.close()

    async def main():
        server = await asyncio.start_server(handle, addr, int(port), backlog=4096, reuse_address=True)
        async with server:
            await asyncio.sleep(float(os.environ.get("NETD_TEST_LIFETIME", "120")))

    raise_nofile()
    asyncio.run(main())


def raise_nofile():
    import resource
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def hold(addr, port, n, refused_ok, hold_seconds):
    raise_nofile()

    async def main():
        sem = asyncio.Semaphore(500)

        async def one():
            async with sem:
                try:
                    return await asyncio.wait_for(asyncio.open_connection(addr, int(port)), 30)
                except (OSError, asyncio.TimeoutError):
                    return None

        results = await asyncio.gather(*(one() for _ in range(int(n))))
        conns = [c for c in results if c]
        refused = int(n) - len(conns)
        print(f"open {len(conns)} refused {refused}", flush=True)

        async def ping(c):
            r, w = c
            w.write(b"x")
            await w.drain()
            return await asyncio.wait_for(r.readexactly(1), 30) == b"x"

        oks = await asyncio.gather(*(ping(c) for c in conns), return_exceptions=True)
        good = sum(1 for o in oks if o is True)
        await asyncio.sleep(float(hold_seconds))
        for _, w in conns:
            w.close()
        print(f"ok {good} echoed of {len(conns)} open, {refused} refused", flush=True)
        if good != len(conns) or (refused and refused_ok != "1"):
            sys.exit(1)

    asyncio.run(main())


def udp_flood(addr, port, seconds, flows="1"):
    socks = []
    for _ in range(int(flows)):
        s = socket.socket(family_of(addr), socket.SOCK_DGRAM)
        s.setblocking(False)
        s.connect((addr, int(port)))
        socks.append(s)
    payload = bytes(1200)
    sent, end = 0, time.monotonic() + float(seconds)
    while time.monotonic() < end:
        for s in socks:
            for _ in range(64):
                try:
                    s.send(payload)
                    sent += 1
                except OSError:  # EAGAIN/ENOBUFS/ECONNREFUSED: keep flooding
                    pass
    print(sent)


def udp_burst(addr, port, count, size):
    count, size = int(count), int(size)
    s = socket.socket(family_of(addr), socket.SOCK_DGRAM)
    s.settimeout(5.0)
    s.connect((addr, int(port)))
    sent = {}
    for i in range(count):
        n = size // 3 if i == count // 2 else size
        body = struct.pack("!I", i) + bytes((i * 7 + k) % 251 for k in range(n - 4))
        sent[i] = body
        s.send(body)
    got = {}
    try:
        while len(got) < count:
            data = s.recv(65535)
            got[struct.unpack("!I", data[:4])[0]] = data
    except socket.timeout:
        die(f"{len(got)}/{count} echoes came back")
    bad = [i for i in sent if got.get(i) != sent[i]]
    if bad:
        die(f"datagrams {bad[:5]} came back changed")
    print(f"ok {count}")


def sniff(path):
    socks = []
    for fam, proto in ((socket.AF_INET, socket.IPPROTO_ICMP), (socket.AF_INET, socket.IPPROTO_UDP),
                       (socket.AF_INET6, socket.IPPROTO_ICMPV6), (socket.AF_INET6, socket.IPPROTO_UDP)):
        socks.append((fam, proto, socket.socket(fam, socket.SOCK_RAW, proto)))
    with open(path, "a") as f:
        f.write("ready\n")
    end = lifetime_deadline()
    while time.monotonic() < end:
        ready, _, _ = select.select([s for _, _, s in socks], [], [], 1.0)
        for fam, proto, s in socks:
            if s not in ready:
                continue
            data, peer = s.recvfrom(65535)
            if fam == socket.AF_INET:  # IPv4 raw sockets see the IP header
                data = data[(data[0] & 0x0F) * 4:]
            if proto in (socket.IPPROTO_ICMP, socket.IPPROTO_ICMPV6):
                if data and data[0] in (8, 128):  # echo request
                    line = f"icmp {peer[0]}"
                else:
                    continue
            else:
                line = f"udp {peer[0]} {struct.unpack('!H', data[2:4])[0]}"
            with open(path, "a") as f:
                f.write(line + "\n")


def garbage(ifname, count):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((ifname, 0))
    rnd = random.Random(1234)  # reproducible
    gw = bytes.fromhex("024e45544402")
    me = bytes.fromhex("020000000001")
    kinds = [
        lambda: b"",  # runt
        lambda: bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 14))),
        lambda: gw + me + b"\x08\x00" + bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 80))),
        lambda: gw + me + b"\x08\x00" + b"\x45\x00\xff\xff" + bytes(16),       # total length too big
        lambda: gw + me + b"\x08\x00" + b"\x4f" + bytes(10),                  # IHL past the end
        lambda: gw + me + b"\x08\x06" + bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 40))),
        lambda: gw + me + b"\x86\xdd" + bytes(40),
    ]
    sent = 0
    for i in range(int(count)):
        frame = kinds[i % len(kinds)]()
        if len(frame) < 14:
            frame = frame + bytes(14 - len(frame))  # AF_PACKET needs a header's worth
        try:
            s.send(frame)
            sent += 1
        except OSError:
            pass
    print(sent)


BLOCK = random.Random(42).randbytes(1 << 20)


def pattern_chunks(n):
    """The deterministic byte stream both ends agree on, in 1 MiB chunks."""
    while n > 0:
        chunk = BLOCK if n >= len(BLOCK) else BLOCK[:n]
        n -= len(chunk)
        yield chunk


def pattern_sha(n):
    h = hashlib.sha256()
    for c in pattern_chunks(n):
        h.update(c)
    return h.hexdigest()


def read_line(conn):
    line = b""
    while not line.endswith(b"\n") and len(line) < 256:
        b = conn.recv(1)
        if not b:
            break
        line += b
    return line.decode(errors="replace").strip()


def sink(conn):
    h, total = hashlib.sha256(), 0
    while True:
        data = conn.recv(1 << 20)
        if not data:
            break
        h.update(data)
        total += len(data)
    conn.sendall(f"{total} {h.hexdigest()}\n".encode())


def tcp_handle(conn):
    conn.settimeout(60)
    with conn:
        cmd = read_line(conn).split()
        if not cmd:
            return
        if cmd[0] == "WHO":
            peer = conn.getpeername()
            conn.sendall(f"{peer[0]} {peer[1]}\n".encode())
        elif cmd[0] == "ECHO":
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                conn.sendall(data)
        elif cmd[0] == "SINK":
            sink(conn)
        elif cmd[0] == "SLOW":
            time.sleep(2)
            sink(conn)
        elif cmd[0] == "SOURCE":
            for c in pattern_chunks(int(cmd[1])):
                conn.sendall(c)
        elif cmd[0] == "RESET":
            for c in pattern_chunks(int(cmd[1])):
                conn.sendall(c)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif cmd[0] == "DRAIN":
            left = int(cmd[1])
            while left > 0:
                data = conn.recv(min(left, 1 << 20))
                if not data:
                    return
                left -= len(data)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def tcp_server(addr, port):
    s = socket.socket(family_of(addr), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, int(port)))
    s.listen(4096)
    s.settimeout(1.0)
    end = lifetime_deadline()
    while time.monotonic() < end:
        try:
            conn, _ = s.accept()
        except socket.timeout:
            continue
        threading.Thread(target=tcp_handle, args=(conn,), daemon=True).start()


def die(msg):
    print(msg)
    sys.exit(1)


def tcp_client(addr, port, action, arg="0"):
    port = int(port)
    if action == "concurrent":
        return asyncio.run(concurrent_echo(addr, port, int(arg)))
    try:
        c = socket.create_connection((addr, port), timeout=30)
    except ConnectionRefusedError:
        print("refused")
        sys.exit(3)
    with c:
        if action == "echo":
            c.sendall(b"ECHO\n" + arg.encode())
            got = c.recv(65536).decode()
            if got != arg:
                die(f"echo mismatch: {got!r}")
            print(f"ok {got}")
        elif action in ("upload", "slow", "half-close"):
            n = int(arg)
            c.sendall(b"SLOW\n" if action == "slow" else b"SINK\n")
            for chunk in pattern_chunks(n):
                c.sendall(chunk)
            c.shutdown(socket.SHUT_WR)  # half-close: keep reading the answer
            answer = read_line(c).split()
            if answer != [str(n), pattern_sha(n)]:
                die(f"upload mismatch: {answer}")
            print(f"ok {n} bytes sha256 {answer[1][:16]}")
        elif action == "download":
            n = int(arg)
            c.sendall(f"SOURCE {n}\n".encode())
            h, total = hashlib.sha256(), 0
            while True:
                data = c.recv(1 << 20)
                if not data:
                    break
                h.update(data)
                total += len(data)
            if total != n or h.hexdigest() != pattern_sha(n):
                die(f"download mismatch: {total} bytes")
            print(f"ok {n} bytes sha256 {h.hexdigest()[:16]}")
        elif action == "who":
            c.sendall(b"WHO\n")
            print(read_line(c))
        elif action == "expect-reset":
            c.sendall(f"RESET {arg}\n".encode())
            try:
                while c.recv(1 << 20):
                    pass
            except ConnectionResetError:
                print("ok reset")
                return
            die("no reset: clean EOF")
        elif action == "upload-reset":
            # The peer resets after reading N bytes: sending (at most 64 N)
            # must end in ECONNRESET/EPIPE, not hang and not succeed.
            n = int(arg)
            c.sendall(f"DRAIN {n}\n".encode())
            try:
                for chunk in pattern_chunks(64 * n):
                    c.sendall(chunk)
                c.recv(1)
            except (ConnectionResetError, BrokenPipeError):
                print("ok reset")
                return
            die("no reset while uploading")


async def concurrent_echo(addr, port, n):
    async def one(i):
        r, w = await asyncio.open_connection(addr, port)
        msg = f"hello {i}".encode()
        w.write(b"ECHO\n" + msg)
        await w.drain()
        got = await r.readexactly(len(msg))
        w.close()
        await w.wait_closed()
        return got == msg

    results = await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(n))), 120)
    good = sum(results)
    if good != n:
        die(f"only {good}/{n} connections echoed correctly")
    print(f"ok {good} connections")


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    {"udp-echo": udp_echo, "dns": dns, "udp-client": udp_client, "garbage": garbage, "udp-flood": udp_flood,
     "udp-burst": udp_burst, "sniff": sniff,
     "echo-async": echo_async, "hold": hold,
     "tcp-server": tcp_server, "tcp-client": tcp_client}[mode](*args)
