"""Sends UDP datagrams with a forged source address, for the reflection test.

Deno and Node.js cannot forge a source address; a raw socket can (as root,
inside a lab host). Usage:

    python3 tests/_spoof.py SRC_IP SRC_PORT DST_IP DST_PORT HEADER COUNT PER_SECOND [PAYLOADS]

Each datagram is a bare announcement (the Rust layout) of a new id with one
port, so that every one asks the chart for an answer, sent to SRC. SRC may be
a range of addresses, such as 198.18.1.200-250: the datagrams take them in
turn. With PAYLOADS, a file of one hexadecimal datagram a line, datagram i is
line i (modulo their number) instead: announcements of this module's own
layout.
"""

import socket
import struct
import sys
import time


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def sources(spec: str) -> list[str]:
    first, _, last = spec.partition("-")
    if not last:
        return [first]
    prefix, start = first.rsplit(".", 1)
    return [f"{prefix}.{n}" for n in range(int(start), int(last) + 1)]


def main() -> None:
    spec, sport, dst, dport, header, count, rate = sys.argv[1:8]
    srcs = sources(spec)
    sport, dport, count, rate = int(sport), int(dport), int(count), float(rate)
    payloads = None
    if len(sys.argv) > 8:
        with open(sys.argv[8]) as lines:
            payloads = [bytes.fromhex(line.strip()) for line in lines if line.strip()]
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    raw.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    if dst.startswith("224."):
        raw.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("0.0.0.0"))
    start = time.monotonic()
    for i in range(count):
        src = srcs[i % len(srcs)]
        if payloads:
            payload = payloads[i % len(payloads)]
        else:
            payload = struct.pack("<QQH", int(header), 1_000_000 + i, 4242)
        length = 8 + len(payload)
        pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 17, length)
        udp = struct.pack("!HHHH", sport, dport, length, 0)
        udp = struct.pack("!HHHH", sport, dport, length, checksum(pseudo + udp + payload) or 0xFFFF)
        ip = struct.pack(
            "!BBHHHBBH4s4s", 0x45, 0, 20 + length, i & 0xFFFF, 0, 1, 17, 0,
            socket.inet_aton(src), socket.inet_aton(dst),
        )
        raw.sendto(ip + udp + payload, (dst, 0))
        # Paced, so that the test measures the rate limit, not a full socket buffer.
        delay = start + (i + 1) / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    print(f"sent {count} in {time.monotonic() - start:.3f} s", flush=True)


main()
