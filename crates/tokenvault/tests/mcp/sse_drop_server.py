"""A hand-written Streamable HTTP stand-in whose SSE streams drop, for the proxy's resumption tests.

Usage: sse_drop_server.py PORT RECORD_FILE. The SDK servers never drop a stream on purpose, so
this one does, on script:
- initialize: a pretty-printed (multi-line) JSON answer with `Mcp-Session-Id: s1`;
  notifications: 202; `test/expire`: 404, as for a session the server forgot;
- any other request: an SSE stream with `retry: 100`, `id: post-1` and a log notification, then the
  connection closes before the answer; a GET with `Last-Event-ID: post-1` delivers the answer;
- the GET stream: the first connection sends `id: get-1` + a notification and closes; the
  reconnection (which must carry `Last-Event-ID: get-1`) sends `get two` and closes; the next gets
  405, which ends listening;
- DELETE: 200.
Every request is appended to RECORD_FILE as a JSON line (method, headers that matter).
"""
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(sys.argv[1])
RECORD = sys.argv[2]
LOCK = threading.Lock()
PENDING = {}


def log(text: str) -> str:
    return json.dumps({"jsonrpc": "2.0", "method": "notifications/message",
                       "params": {"level": "info", "data": text}})


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # an SSE body ends when the connection closes

    def log_message(self, *args) -> None:
        pass

    def record(self, **extra) -> None:
        entry = {"method": self.command, "session": self.headers.get("Mcp-Session-Id"),
                 "protocol": self.headers.get("MCP-Protocol-Version"),
                 "last_event_id": self.headers.get("Last-Event-ID"), **extra}
        with LOCK, open(RECORD, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")

    def sse(self, events: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        self.wfile.write(events.encode())
        self.wfile.flush()
        self.close_connection = True

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.record(rpc=body.get("method"))
        if body.get("method") == "initialize":
            answer = json.dumps({"jsonrpc": "2.0", "id": body["id"], "result": {
                "protocolVersion": "2025-06-18", "capabilities": {"logging": {}},
                "serverInfo": {"name": "drop", "version": "1"}}}, indent=2).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Mcp-Session-Id", "s1")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)
        elif body.get("method") == "test/expire":
            self.send_response(404)  # what a server says once it forgot the session
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif "id" not in body or "method" not in body:
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            with LOCK:
                PENDING["post-1"] = body["id"]
            self.sse(f"retry: 100\nid: post-1\ndata: {log('before the drop')}\n\n")

    def do_GET(self) -> None:
        last = self.headers.get("Last-Event-ID")
        self.record()
        if last == "post-1":
            with LOCK:
                rid = PENDING.pop("post-1", None)
            answer = json.dumps({"jsonrpc": "2.0", "id": rid, "result": {
                "content": [{"type": "text", "text": "resumed"}], "isError": False}})
            self.sse(f"id: post-2\ndata: {answer}\n\n")
        elif last is None:
            self.sse(f"retry: 100\nid: get-1\ndata: {log('get one')}\n\n")
        elif last == "get-1":
            self.sse(f"id: get-2\ndata: {log('get two')}\n\n")
        else:
            self.send_response(405)
            self.send_header("Content-Length", "0")
            self.end_headers()

    def do_DELETE(self) -> None:
        self.record()
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
