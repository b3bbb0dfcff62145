#!/usr/bin/env python3
"""Driver for scripts/bench-proxy (see there): a loopback MCP stand-in, a direct keep-alive HTTP
client and a stdio client of `tokenvault mcp proxy`, timed request by request.

Usage: bench_proxy.py TOKENVAULT OUT_JSON   (env: REQUESTS, default 2000 per mode and path)

The server is a separate process (no GIL shared with the clients): HTTP/1.1 keep-alive, answering
every JSON-RPC request with a fixed result either as application/json or as a one-event
text/event-stream body, `Mcp-Session-Id` on initialize, 202 for notifications, 405 for GET (no
server stream to hold open) and 200 for DELETE. Direct and proxied requests alternate, so drift in
machine load hits both alike. The figure is the difference of the medians (and of the p95s) of the
round trip as a client sees it: a JSON-RPC line written to the proxy's stdin until its answer line,
against the same POST sent by two keep-alive HTTP clients: Python's http.client (a typical
client) and a raw socket (the cheapest client Python has; the pipe round trip to the proxy costs
about as much, so "added vs raw socket" is the proxy's own cost).
"""
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REQUESTS = int(os.environ.get("REQUESTS", "2000"))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in separate writes: without this, Nagle + delayed ACK add ~40 ms to
    # any client that ACKs lazily, which would measure the TCP stack, not the proxy.
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", ctype="application/json", extra=()):
        self.send_response(status)
        if body:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        msg = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if "id" not in msg:
            return self.reply(202)
        if msg.get("method") == "initialize":
            result = {"protocolVersion": "2025-06-18", "capabilities": {},
                      "serverInfo": {"name": "bench", "version": "1"}}
            extra = [("Mcp-Session-Id", "bench-session")]
        else:
            result, extra = {"content": [{"type": "text", "text": "pong"}]}, []
        body = json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": result})
        if self.server.sse:
            return self.reply(200, f"event: message\ndata: {body}\n\n".encode(),
                              "text/event-stream", extra)
        self.reply(200, body.encode(), "application/json", extra)

    def do_GET(self):
        self.reply(405)

    def do_DELETE(self):
        self.reply(200)


def serve(port, sse):
    srv = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    srv.sse = sse
    srv.serve_forever()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port):
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port)).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit("bench-proxy: the stand-in server did not start")


def request(i):
    return {"jsonrpc": "2.0", "id": i, "method": "tools/call",
            "params": {"name": "ping", "arguments": {"n": i}}}


def measure(tv, mode):
    port = free_port()
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(port), mode])
    try:
        wait_port(port)
        url = f"http://127.0.0.1:{port}/mcp"
        headers = {"Content-Type": "application/json",
                   "Accept": "application/json, text/event-stream",
                   "Mcp-Session-Id": "bench-session", "MCP-Protocol-Version": "2025-06-18",
                   "Authorization": "Bearer " + os.environ["BENCH_TOKEN"]}
        direct = http.client.HTTPConnection("127.0.0.1", port)
        proxy = subprocess.Popen(
            [tv, "mcp", "proxy", "--url", url,
             "--header", "Authorization: Bearer {{ tv://huggingface/token }}"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
        out = proxy.stdout

        def via_proxy(msg):
            proxy.stdin.write((json.dumps(msg) + "\n").encode())
            line = out.readline()
            if not line:
                sys.exit("bench-proxy: the proxy exited")
            return json.loads(line)

        raw = socket.create_connection(("127.0.0.1", port))
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        raw_head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        pending = bytearray()

        def via_raw(msg):
            # The cheapest keep-alive client Python has: one sendall, one parse of Content-Length.
            body = json.dumps(msg).encode()
            raw.sendall(f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{raw_head}"
                        f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
            while b"\r\n\r\n" not in pending:
                pending.extend(raw.recv(65536))
            head, _, _ = bytes(pending).partition(b"\r\n\r\n")
            length = int(next(l.split(b":")[1] for l in head.split(b"\r\n")
                              if l.lower().startswith(b"content-length:")))
            while len(pending) < len(head) + 4 + length:
                pending.extend(raw.recv(65536))
            text = bytes(pending[len(head) + 4:len(head) + 4 + length]).decode()
            del pending[:len(head) + 4 + length]
            if not text.startswith("{"):
                text = next(l[5:] for l in text.splitlines() if l.startswith("data:"))
            return json.loads(text)

        def via_http(msg):
            direct.request("POST", "/mcp", json.dumps(msg), headers)
            resp = direct.getresponse()
            body = resp.read().decode()
            if body.startswith("event:") or body.startswith("data:"):
                body = next(l[5:] for l in body.splitlines() if l.startswith("data:"))
            return json.loads(body)

        init = {"jsonrpc": "2.0", "id": 0, "method": "initialize",
                "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                           "clientInfo": {"name": "bench", "version": "1"}}}
        assert via_proxy(init)["result"]["serverInfo"]["name"] == "bench"
        proxy.stdin.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
        paths = {"http.client": via_http, "raw socket": via_raw, "proxy": via_proxy}
        for i in range(1, 200):  # warm-up: connections, caches, the pool
            for fn in paths.values():
                fn(request(i))
        times = {name: [] for name in paths}
        order = list(paths)
        for i in range(REQUESTS):
            msg = request(1000 + i)
            order = order[1:] + order[:1]  # rotate, so no path always goes first
            for name in order:
                t0 = time.perf_counter()
                answer = paths[name](msg)
                times[name].append(time.perf_counter() - t0)
                assert answer["id"] == msg["id"], answer
        proxy.stdin.close()
        proxy.wait(10)
        return times
    finally:
        server.kill()


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def main():
    tv, out_path = sys.argv[1], sys.argv[2]
    results = {}
    for mode in ("json", "sse"):
        times = measure(tv, mode)
        row = {"requests": REQUESTS}
        for name, xs in times.items():
            row[name] = {"median_ms": statistics.median(xs) * 1e3, "p95_ms": pct(xs, 0.95) * 1e3}
        print(f"{mode} responses, {REQUESTS} requests per path (round trip as the client sees it):")
        for name in times:
            print(f"  {name:<12} median {row[name]['median_ms']:.3f} ms   p95 {row[name]['p95_ms']:.3f} ms")
        for direct in ("http.client", "raw socket"):
            added = {q: row["proxy"][q] - row[direct][q] for q in ("median_ms", "p95_ms")}
            row[f"added_vs_{direct}"] = added
            print(f"  proxy added vs {direct:<12} median {added['median_ms']:+.3f} ms"
                  f"   p95 {added['p95_ms']:+.3f} ms   (floor < 1 ms, target < 0.3 ms)")
        results[mode] = row
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2)


if __name__ == "__main__":
    if sys.argv[1] == "--serve":
        serve(int(sys.argv[2]), sys.argv[3] == "sse")
    else:
        main()
