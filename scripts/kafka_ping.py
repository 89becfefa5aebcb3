#!/usr/bin/env python3
"""Readiness probe for a Kafka-protocol broker: send a Metadata v0 request
(all topics) and check that the answer lists at least one broker.

Usage: kafka_ping.py HOST PORT   (exit 0 when the broker answers)"""
import socket
import struct
import sys


def read_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("broker closed the connection")
        buf += chunk
    return buf


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    client_id = b"ai-data-ping"
    correlation_id = 7
    # Request header v1: api_key=3 (Metadata), api_version=0, correlation id, client id;
    # body: topics array of length 0 (v0: empty array means all topics).
    body = struct.pack(">hhih", 3, 0, correlation_id, len(client_id)) + client_id + struct.pack(">i", 0)
    with socket.create_connection((host, port), timeout=2) as sock:
        sock.sendall(struct.pack(">i", len(body)) + body)
        size = struct.unpack(">i", read_exact(sock, 4))[0]
        payload = read_exact(sock, size)
    got_id, broker_count = struct.unpack(">ii", payload[:8])
    if got_id != correlation_id or broker_count < 1:
        sys.exit(f"unexpected metadata answer: correlation {got_id}, {broker_count} brokers")
    print(f"{broker_count} broker(s)")


if __name__ == "__main__":
    main()
