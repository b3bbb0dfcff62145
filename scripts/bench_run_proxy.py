#!/usr/bin/env python3
"""Driver for scripts/bench-run-proxy (see there): one loopback upstream (plain HTTP and TLS, a
separate process), and a client that runs as the child of `tokenvault run --proxy`, timing the same
requests sent directly to the upstream and through the proxy, alternating, so drift in machine load
hits both alike.

Usage:
  bench_run_proxy.py TOKENVAULT OUT_JSON          the whole benchmark (env: REQUESTS, BIG_BYTES)
  bench_run_proxy.py serve CERT KEY               (internal) the upstream; prints its two ports
  bench_run_proxy.py client MODE PLAIN TLS CERT OUT   (internal) the measuring child

Modes: `base-url` (the child's HF_ENDPOINT points at the proxy's listener; the upstream is the
plain-HTTP one, as a local Hub stand-in would be) and `connect` (HTTPS through HTTPS_PROXY with the
run's CA; the upstream is the TLS one, the proxy opens and re-encrypts). Latency: REQUESTS (default
2000) keep-alive GETs of a small JSON answer carrying the placeholder in Authorization; throughput:
one GET of BIG_BYTES (default 1,000,000,000) read in 1 MiB pieces.
"""
import base64
import http.client
import json
import os
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REQUESTS = int(os.environ.get("REQUESTS", "2000"))
BIG = int(os.environ.get("BIG_BYTES", "1000000000"))
BLOCK = b"x" * (1 << 20)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path.startswith("/big"):
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(BIG))
            self.end_headers()
            left = BIG
            while left:
                n = min(left, len(BLOCK))
                self.wfile.write(BLOCK[:n] if n < len(BLOCK) else BLOCK)
                left -= n
            return
        body = b'{"name":"bench","ok":true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def serve(cert, key):
    plain = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    tls = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    tls.socket = ctx.wrap_socket(tls.socket, server_side=True)
    for s in (plain, tls):
        threading.Thread(target=s.serve_forever, daemon=True).start()
    print(plain.server_address[1], tls.server_address[1], flush=True)
    sys.stdin.read()  # until the driver closes our stdin


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))]


def client(mode, plain_port, tls_port, cert, out):
    auth = {"Authorization": "Bearer " + os.environ["HF_TOKEN"]}
    if mode == "base-url":
        ep = urllib.parse.urlsplit(os.environ["HF_ENDPOINT"])
        make_direct = lambda: http.client.HTTPConnection("127.0.0.1", plain_port)
        make_proxied = lambda: http.client.HTTPConnection(ep.hostname, ep.port)
    else:
        direct_ctx = ssl.create_default_context(cafile=cert)
        proxied_ctx = ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
        px = urllib.parse.urlsplit(os.environ["HTTPS_PROXY"])

        def make_direct():
            return http.client.HTTPSConnection("localhost", tls_port, context=direct_ctx)

        def make_proxied():
            c = http.client.HTTPSConnection(px.hostname, px.port, context=proxied_ctx)
            cred = base64.b64encode(f"{px.username}:{px.password}".encode()).decode()
            c.set_tunnel("localhost", tls_port, headers={"Proxy-Authorization": "Basic " + cred})
            return c

    def one(conn):
        t = time.perf_counter_ns()
        conn.request("GET", "/small", headers=auth)
        r = conn.getresponse()
        body = r.read()
        took = time.perf_counter_ns() - t
        assert r.status == 200, (r.status, body)
        return took

    direct, proxied = make_direct(), make_proxied()
    for _ in range(50):  # warm-up: connections, TLS sessions, caches
        one(direct), one(proxied)
    d, p = [], []
    for _ in range(REQUESTS):
        d.append(one(direct))
        p.append(one(proxied))

    def download(conn):
        buf = bytearray(1 << 20)
        t = time.perf_counter()
        conn.request("GET", "/big", headers=auth)
        r = conn.getresponse()
        total = 0
        while True:
            n = r.readinto(buf)
            if not n:
                break
            total += n
        took = time.perf_counter() - t
        assert total == BIG, (total, BIG)
        return BIG / took / 1e6

    mb_direct = download(make_direct())
    mb_proxied = download(make_proxied())
    json.dump(
        {
            "mode": mode,
            "requests": REQUESTS,
            "direct_ms": {"median": statistics.median(d) / 1e6, "p95": pct(d, 0.95) / 1e6},
            "proxied_ms": {"median": statistics.median(p) / 1e6, "p95": pct(p, 0.95) / 1e6},
            "direct_MBps": mb_direct,
            "proxied_MBps": mb_proxied,
            "bytes": BIG,
        },
        open(out, "w"),
    )


def main(tv, out_json):
    work = tempfile.mkdtemp()
    cert, key = os.path.join(work, "cert.pem"), os.path.join(work, "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
         "-addext", "basicConstraints=critical,CA:FALSE",
         "-days", "1", "-keyout", key, "-out", cert],
        check=True, capture_output=True,
    )
    server = subprocess.Popen([sys.executable, __file__, "serve", cert, key],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    plain_port, tls_port = map(int, server.stdout.readline().split())
    results = []
    try:
        for mode, endpoint in [("base-url", f"http://127.0.0.1:{plain_port}"),
                               ("connect", f"https://localhost:{tls_port}")]:
            out = os.path.join(work, f"{mode}.json")
            env = dict(os.environ, HF_ENDPOINT=endpoint, TOKENVAULT_PROXY_CA_FILE=cert)
            env.pop("HF_TOKEN", None)
            subprocess.run(
                [tv, "run", "--proxy", "-e", "HF_TOKEN=huggingface", "--", sys.executable,
                 __file__, "client", mode, str(plain_port), str(tls_port), cert, out],
                env=env, check=True,
            )
            results.append(json.load(open(out)))
    finally:
        server.stdin.close()
        server.wait()
    json.dump(results, open(out_json, "w"), indent=2)
    print(f"run --proxy: {REQUESTS} keep-alive GETs per path, alternating; "
          f"{BIG / 1e9:.1f} GB download per path (floor: +1 ms and >= 50 %; target: +0.3 ms and >= 80 %)")
    for r in results:
        dm, pm = r["direct_ms"], r["proxied_ms"]
        print(f"  {r['mode']:<9} latency median {dm['median']:.3f} -> {pm['median']:.3f} ms "
              f"(+{pm['median'] - dm['median']:.3f} ms), p95 {dm['p95']:.3f} -> {pm['p95']:.3f} ms "
              f"(+{pm['p95'] - dm['p95']:.3f} ms)")
        print(f"  {r['mode']:<9} throughput {r['direct_MBps']:.0f} MB/s direct, "
              f"{r['proxied_MBps']:.0f} MB/s proxied: {r['proxied_MBps'] / r['direct_MBps']:.0%} of direct")


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "client":
        client(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6])
    else:
        main(sys.argv[1], sys.argv[2])
