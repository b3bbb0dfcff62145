"""A real MCP Streamable HTTP server (Python SDK FastMCP under uvicorn) for `mcp proxy` tests.

Usage: http_server.py PORT RECORD_FILE [--json]. The bearer token it requires comes from the
environment (EXPECTED_TOKEN), never from argv. An ASGI middleware in front of the SDK app answers
401 without `Authorization: Bearer <token>` and appends one JSON line per HTTP request to
RECORD_FILE: method, whether the token matched (and its SHA-256, never the token), the MCP headers
and the status sent back. `--json` makes the SDK answer requests with application/json bodies
instead of SSE streams.
"""
import asyncio
import hashlib
import json
import os
import sys

import uvicorn
from mcp.server.fastmcp import Context, FastMCP

PORT = int(sys.argv[1])
RECORD = sys.argv[2]
JSON_RESPONSE = "--json" in sys.argv[3:]
EXPECTED = os.environ["EXPECTED_TOKEN"]

mcp = FastMCP("tokenvault-http-test-server", json_response=JSON_RESPONSE)


@mcp.tool()
def echo(text: str) -> str:
    """Returns its argument."""
    return text


@mcp.tool()
async def slow(seconds: float, ctx: Context) -> str:
    """Logs a message on the request's stream, waits, then answers."""
    await ctx.info("slow tool started")
    await asyncio.sleep(seconds)
    return f"slept {seconds}"


@mcp.tool()
async def announce(ctx: Context) -> str:
    """Sends a log message NOT tied to this request: it travels on the GET stream."""
    session = ctx.session

    async def later() -> None:
        await asyncio.sleep(0.3)
        await session.send_log_message(level="info", data="hello from the GET stream")

    asyncio.get_running_loop().create_task(later())
    return "announced"


def record(entry: dict) -> None:
    with open(RECORD, "a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")
        f.flush()


class RequireBearer:
    """ASGI middleware: 401 without the right bearer token; records every request."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        auth = headers.get("authorization", "")
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else ""
        entry = {
            "method": scope["method"],
            "auth_ok": token == EXPECTED,
            "auth_sha256": hashlib.sha256(token.encode()).hexdigest() if token else None,
            "session": headers.get("mcp-session-id"),
            "protocol": headers.get("mcp-protocol-version"),
            "accept": headers.get("accept"),
            "content_type": headers.get("content-type"),
            "last_event_id": headers.get("last-event-id"),
            "user_agent": headers.get("user-agent"),
        }
        if token != EXPECTED:
            entry["status"] = 401
            record(entry)
            body = json.dumps({"error": "invalid_token"}).encode()
            await send({
                "type": "http.response.start",
                "status": 401,
                "headers": [(b"content-type", b"application/json"),
                            (b"www-authenticate", b'Bearer error="invalid_token"')],
            })
            await send({"type": "http.response.body", "body": body})
            return

        async def recording_send(message):
            if message["type"] == "http.response.start":
                entry["status"] = message["status"]
                for k, v in message.get("headers", []):
                    if k.decode().lower() == "content-type":
                        entry["response_type"] = v.decode()
                record(dict(entry))
            await send(message)

        await self.app(scope, receive, recording_send)


if __name__ == "__main__":
    app = RequireBearer(mcp.streamable_http_app())
    uvicorn.run(app, host="127.0.0.1", port=PORT, log_level="warning")
