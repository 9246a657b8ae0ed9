#!/usr/bin/python3
"""Attacks and watches for the host-exposure tests (standard library only).

A guest (a container namespace) tries to reach what it must not: the host's
loopback, netd's UNIX sockets, ports nothing was granted on. The host side
records what arrives. Traffic goes only to 127.0.0.0/8, ::1 and the test's
own namespaces (every address below is one of those, or an address that
exists only inside the test's namespaces).

Host side (run in the namespace netd runs in):
  tripwire PORT FILE            listen on TCP and UDP PORT of 127.0.0.1, 127.1.2.3 and ::1;
                                append "tcp|udp ADDR from SRC" to FILE for every connection
                                or datagram
  lo-watch FILE                 AF_PACKET on lo: append one line per connection attempt that
                                arrives there, on any port: "tcp SRC DST DPORT" (SYN without
                                ACK), "udp SRC DST DPORT", "icmp SRC DST" (echo request, v4 or v6);
                                the first line is "ready"
  unix-tripwire NAME FILE       listen on the abstract UNIX socket @NAME; append "unix" to
                                FILE for every connection

Guest side (run in the container's namespaces):
  probe IFNAME GWMAC PORT ADDR...  hand-made TCP SYN, UDP and ICMP echo frames (IPv6: ICMPv6
                                echo) to each ADDR through IFNAME (AF_PACKET), from the
                                interface's own IPv4 address (IPv6: fe80::1), then listen 2 s;
                                prints one line per reply: "tcp reply from A flags 0xNN",
                                "udp reply from A", "icmp echo reply from A"
  scan IFNAME GWMAC tcp|udp ADDR FIRST LAST  hand-made SYNs or datagrams to every port
                                FIRST..LAST of ADDR (paced so the tap does not overflow);
                                prints "sent N"
  attack PORT ADDR...           ordinary sockets from the guest to each ADDR (a "%zone"
                                suffix scopes link-local IPv6): a TCP connect to PORT, a UDP
                                datagram to PORT (waiting for an answer), an ICMP echo (raw
                                socket); prints "ADDR tcp|udp|icmp RESULT" where RESULT is
                                connected, reply, refused, unreachable, timeout, or error:ERRNO
  unix-connect NAME             connect to the abstract UNIX socket @NAME; prints connected
                                or error:ERRNO

Everything is bounded (timeouts, --lifetime of NETD_TEST_LIFETIME seconds for
the watchers, default 120).
"""
import errno
import fcntl
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


def append(path, line):
    with open(path, "a") as f:
        f.write(line + "\n")


# ---------------------------------------------------------------- host side

def tripwire(port, path):
    port = int(port)
    socks = []
    for addr in ("127.0.0.1", "127.1.2.3", "::1"):
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            s = socket.socket(family_of(addr), kind)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((addr, port))
            if kind == socket.SOCK_STREAM:
                s.listen(16)
            s.setblocking(False)
            socks.append((addr, kind, s))
    end = lifetime_deadline()
    while time.monotonic() < end:
        ready, _, _ = select.select([s for _, _, s in socks], [], [], 1.0)
        for addr, kind, s in socks:
            if s not in ready:
                continue
            try:
                if kind == socket.SOCK_STREAM:
                    c, peer = s.accept()
                    c.close()
                    what = f"tcp {addr} from {peer[0]}"
                else:
                    _, peer = s.recvfrom(65535)
                    what = f"udp {addr} from {peer[0]}"
            except OSError:
                continue
            append(path, what)


PACKET_OUTGOING = 4


def lo_watch(path):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    s.bind(("lo", 0))
    s.settimeout(1.0)
    append(path, "ready")
    end = lifetime_deadline()
    while time.monotonic() < end:
        try:
            frame, meta = s.recvfrom(65535)
        except socket.timeout:
            continue
        if meta[2] == PACKET_OUTGOING:  # lo shows each packet twice: keep the arrival
            continue
        line = describe_ip(frame[12:14], frame[14:])
        if line:
            append(path, line)


def describe_ip(ethertype, p):
    """One line for a connection attempt in an IP packet, else None."""
    if ethertype == b"\x08\x00" and len(p) >= 20:
        proto, src, dst = p[9], socket.inet_ntoa(p[12:16]), socket.inet_ntoa(p[16:20])
        l4 = p[(p[0] & 0x0F) * 4:]
        icmp_echo = 8
    elif ethertype == b"\x86\xdd" and len(p) >= 40:
        proto, src, dst = p[6], socket.inet_ntop(socket.AF_INET6, p[8:24]), socket.inet_ntop(socket.AF_INET6, p[24:40])
        l4 = p[40:]
        proto, icmp_echo = (1, 128) if proto == 58 else (proto, None)
    else:
        return None
    if proto == 6 and len(l4) >= 14:
        if l4[13] & 0x12 == 0x02:  # SYN without ACK
            return f"tcp {src} {dst} {struct.unpack('!H', l4[2:4])[0]}"
    elif proto == 17 and len(l4) >= 8:
        return f"udp {src} {dst} {struct.unpack('!H', l4[2:4])[0]}"
    elif proto == 1 and l4 and l4[0] == icmp_echo:
        return f"icmp {src} {dst}"
    return None


def unix_tripwire(name, path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind("\0" + name)
    s.listen(8)
    s.settimeout(1.0)
    end = lifetime_deadline()
    while time.monotonic() < end:
        try:
            c, _ = s.accept()
        except socket.timeout:
            continue
        c.close()
        append(path, "unix")


# --------------------------------------------------------------- guest side

def unix_connect(name):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(2.0)
    try:
        s.connect("\0" + name)
        print("connected")
    except OSError as e:
        print(f"error:{errno.errorcode.get(e.errno, e.errno)}")


def csum16(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return (~total) & 0xFFFF


def iface_ipv4(ifname):
    """The interface's IPv4 address (SIOCGIFADDR), else 10.0.2.100."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        res = fcntl.ioctl(s.fileno(), 0x8915, struct.pack("256s", ifname.encode()[:15]))
        return res[20:24]
    except OSError:
        return socket.inet_aton("10.0.2.100")
    finally:
        s.close()


class Frames:
    """Hand-made Ethernet frames from one interface to a gateway MAC."""

    SRC6 = socket.inet_pton(socket.AF_INET6, "fe80::1")

    def __init__(self, ifname, gwmac):
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
        self.sock.bind((ifname, 0))
        self.me = self.sock.getsockname()[4][:6]
        self.gw = bytes.fromhex(gwmac.replace(":", ""))
        self.src4 = iface_ipv4(ifname)
        self.sport = 40000 + random.randrange(10000)

    def tcp_syn(self, pseudo, dport):
        hdr = struct.pack("!HHIIBBHHH", self.sport, dport, 12345, 0, 5 << 4, 0x02, 65535, 0, 0)
        c = csum16(pseudo(len(hdr), 6) + hdr)
        return hdr[:16] + struct.pack("!H", c) + hdr[18:]

    def udp(self, pseudo, dport):
        payload = b"tripwire"
        hdr = struct.pack("!HHHH", self.sport, dport, 8 + len(payload), 0)
        c = csum16(pseudo(8 + len(payload), 17) + hdr + payload) or 0xFFFF
        return hdr[:6] + struct.pack("!H", c) + payload

    @staticmethod
    def icmp_echo(pseudo, dport, v6=False):
        body = struct.pack("!BBHHH", 128 if v6 else 8, 0, 0, 0x4242, 1) + b"tripwire"
        # ICMPv6's checksum covers the pseudo-header; ICMP's does not.
        c = csum16((pseudo(len(body), 58) if v6 else b"") + body)
        return body[:2] + struct.pack("!H", c) + body[4:]

    def frame(self, addr, proto, dport):
        """proto: "tcp", "udp" or "icmp"; IPv4 or IPv6 by the address."""
        if ":" in addr:
            dst = socket.inet_pton(socket.AF_INET6, addr)
            pseudo = lambda n, p: self.SRC6 + dst + struct.pack("!IxxxB", n, p)
            if proto == "icmp":
                body, nh = self.icmp_echo(pseudo, dport, v6=True), 58
            else:
                body, nh = (self.tcp_syn(pseudo, dport), 6) if proto == "tcp" else (self.udp(pseudo, dport), 17)
            ip6 = struct.pack("!IHBB", 6 << 28, len(body), nh, 64) + self.SRC6 + dst
            return self.gw + self.me + b"\x86\xdd" + ip6 + body
        dst = socket.inet_aton(addr)
        pseudo = lambda n, p: self.src4 + dst + struct.pack("!xBH", p, n)
        body, num = {"tcp": (self.tcp_syn, 6), "udp": (self.udp, 17), "icmp": (self.icmp_echo, 1)}[proto]
        body = body(pseudo, dport)
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), 1, 0, 64, num, 0, self.src4, dst)
        ip = ip[:10] + struct.pack("!H", csum16(ip)) + ip[12:]
        return self.gw + self.me + b"\x08\x00" + ip + body

    def replies(self, seconds):
        """Lines for replies to our frames arriving within `seconds`."""
        s = self.sock
        s.settimeout(0.2)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                f = s.recv(65535)
            except socket.timeout:
                continue
            if len(f) < 34 or f[0:6] != self.me:
                continue
            if f[12:14] == b"\x08\x00":
                proto, src = f[23], socket.inet_ntoa(f[26:30])
                l4 = f[14 + (f[14] & 0x0F) * 4:]
                echo_reply = proto == 1 and l4[:1] == b"\x00"
            elif f[12:14] == b"\x86\xdd" and len(f) >= 58:
                proto, src = f[20], socket.inet_ntop(socket.AF_INET6, f[22:38])
                l4 = f[54:]
                echo_reply = proto == 58 and l4[:1] == b"\x81"
            else:
                continue
            ours = len(l4) >= 4 and struct.unpack("!H", l4[2:4])[0] == self.sport
            if proto == 6 and ours and len(l4) >= 14:
                yield f"tcp reply from {src} flags {l4[13]:#x}"
            elif proto == 17 and ours:
                yield f"udp reply from {src}"
            elif echo_reply and l4[4:6] == b"\x42\x42":
                yield f"icmp echo reply from {src}"


def probe(ifname, gwmac, port, *addrs):
    fr = Frames(ifname, gwmac)
    for a in addrs:
        for proto in ("tcp", "udp", "icmp"):
            fr.sock.send(fr.frame(a, proto, int(port)))
    for line in fr.replies(2.0):
        print(line, flush=True)


def scan(ifname, gwmac, proto, addr, first, last):
    fr = Frames(ifname, gwmac)
    sent = 0
    for port in range(int(first), int(last) + 1):
        fr.sock.send(fr.frame(addr, proto, port))
        sent += 1
        if sent % 128 == 0:
            time.sleep(0.004)  # let netd drain the tap (its queue holds 1000 frames)
    print(f"sent {sent}")


def errname(e):
    return "error:" + errno.errorcode.get(e.errno, str(e.errno))


def classify(e):
    if isinstance(e, socket.timeout):
        return "timeout"
    if e.errno == errno.ECONNREFUSED:
        return "refused"
    if e.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EACCES, errno.EPERM):
        return "unreachable"
    return errname(e)


def sockaddr(addr, port):
    """(family, sockaddr) for "ADDR" or "fe80::1%zone"."""
    if ":" in addr:
        info = socket.getaddrinfo(addr, port, socket.AF_INET6, socket.SOCK_DGRAM, 0, socket.AI_NUMERICHOST)
        return socket.AF_INET6, info[0][4]
    return socket.AF_INET, (addr, port)


def attack_socket(addr, port, kind, timeout, use):
    """A socket of `kind` to ADDR:PORT; use(sock) -> result, or the error's class."""
    fam, sa = sockaddr(addr, port)
    s = socket.socket(fam, kind)
    s.settimeout(timeout)
    try:
        s.connect(sa)
        return use(s)
    except OSError as e:
        return classify(e)
    finally:
        s.close()


def attack_tcp(addr, port):
    return attack_socket(addr, port, socket.SOCK_STREAM, 2.0, lambda s: "connected")


def attack_udp(addr, port):
    def exchange(s):
        s.send(b"tripwire")
        s.recv(65535)
        return "reply"
    return attack_socket(addr, port, socket.SOCK_DGRAM, 1.0, exchange)


# Echo identifiers: one per attempt, never two alike, so that attempts run
# side by side (every raw socket sees every echo reply) each count only
# their own reply.
_idents = iter(range(random.randrange(1, 0x8000), 0x10000))
_idents_lock = threading.Lock()


def attack_icmp(addr):
    fam, sa = sockaddr(addr, 0)
    v6 = fam == socket.AF_INET6
    s = socket.socket(fam, socket.SOCK_RAW, socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP)
    with _idents_lock:
        ident = next(_idents)
    body = struct.pack("!BBHHH", 128 if v6 else 8, 0, 0, ident, 1) + b"tripwire"
    if not v6:  # (the kernel fills in ICMPv6 checksums)
        body = body[:2] + struct.pack("!H", csum16(body)) + body[4:]
    try:
        s.sendto(body, sa)
        end = time.monotonic() + 1.5
        while time.monotonic() < end:
            r, _, _ = select.select([s], [], [], max(0.0, end - time.monotonic()))
            if not r:
                break
            data, _ = s.recvfrom(65535)
            if not v6:
                data = data[(data[0] & 0x0F) * 4:]
            if data[:1] == (b"\x81" if v6 else b"\x00") and struct.unpack("!H", data[4:6])[0] == ident:
                return "reply"
        return "timeout"
    except OSError as e:
        return classify(e)
    finally:
        s.close()


def attack(port, *addrs):
    """Every address on a thread of its own (an unanswered attempt waits out
    its timeout: one after the other, 16 addresses took over half a minute);
    the lines come out in the order of the addresses."""
    port = int(port)
    results = [None] * len(addrs)

    def one(i, a):
        results[i] = [f"{a} tcp {attack_tcp(a, port)}", f"{a} udp {attack_udp(a, port)}",
                      f"{a} icmp {attack_icmp(a)}"]

    threads = [threading.Thread(target=one, args=(i, a)) for i, a in enumerate(addrs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, lines in enumerate(results):
        if lines is None:
            sys.exit(f"attack on {addrs[i]} raised (see above)")
        print("\n".join(lines), flush=True)


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    {"tripwire": tripwire, "lo-watch": lo_watch, "unix-tripwire": unix_tripwire, "unix-connect": unix_connect,
     "probe": probe, "scan": scan, "attack": attack}[mode](*args)
