#!/usr/bin/env python3
"""Keep-alive HTTP/1.1 load for callgrind runs: N GET requests of one path, spread
over C connections (threads), each response read whole and checked for a 200.

    client.py PORT PATH N [C]
"""
import socket
import sys
import threading


def read_response(sock, buf):
    """One response from `sock` (`buf`: bytes already read); returns (head, rest)."""
    while True:
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            head = buf[:end].decode("latin-1")
            body = buf[end + 4:]
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.lower() == "content-length":
                    length = int(value)
                elif name.lower() == "transfer-encoding":
                    sys.exit(f"chunked responses are not supported: {head!r}")
            while len(body) < length:
                more = sock.recv(65536)
                if not more:
                    sys.exit("the server closed the connection mid-response")
                body += more
            return head, body[length:]
        more = sock.recv(65536)
        if not more:
            sys.exit("the server closed the connection")
        buf += more


def main():
    port, path, total = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    conns = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    failures = []

    def run(count):
        try:
            with socket.create_connection(("127.0.0.1", port)) as sock:
                buf = b""
                for _ in range(count):
                    sock.sendall(request)
                    head, buf = read_response(sock, buf)
                    if not head.startswith("HTTP/1.1 200"):
                        failures.append(head.split("\r\n", 1)[0])
                        return
        except (OSError, SystemExit) as e:
            failures.append(str(e))

    threads = [threading.Thread(target=run, args=(total // conns,)) for _ in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        sys.exit(f"{path}: {failures[0]}")


if __name__ == "__main__":
    main()
