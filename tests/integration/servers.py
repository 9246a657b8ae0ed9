#!/usr/bin/python3
"""Test peers for the namespace integration tests (standard library only).

Modes:
  udp-echo ADDR PORT            echo every datagram back
  dns ADDR PORT                 answer A queries: NAME.test -> 192.0.2.55, others NXDOMAIN
  udp-client ADDR PORT MESSAGE  send MESSAGE, print the reply (exit 1 on timeout,
                                 3 on ICMP port unreachable)
  garbage IFNAME COUNT          send COUNT malformed Ethernet frames on IFNAME (AF_PACKET)

Every server exits on its own after --lifetime seconds (default 120), so a
test that dies cannot leave one behind for long; tests also kill them by pid.
"""
import os
import random
import socket
import struct
import sys
import time


def lifetime_deadline():
    return time.monotonic() + float(os.environ.get("NETD_TEST_LIFETIME", "120"))


def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def serve_udp(addr, port, handler):
    """Answer each datagram with handler(data) (None: no answer) until the lifetime ends."""
    s = socket.socket(family_of(addr), socket.SOCK_DGRAM)
    s.bind((addr, int(port)))
    s.settimeout(1.0)
    end = lifetime_deadline()
    while time.monotonic() < end:
        try:
            data, peer = s.recvfrom(65535)
        except socket.timeout:
            continue
        reply = handler(data)
        if reply is not None:
            s.sendto(reply, peer)


def udp_echo(addr, port):
    serve_udp(addr, port, lambda data: data)


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


def dns(addr, port):
    serve_udp(addr, port, dns_answer)


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


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    {"udp-echo": udp_echo, "dns": dns, "udp-client": udp_client, "garbage": garbage}[mode](*args)
