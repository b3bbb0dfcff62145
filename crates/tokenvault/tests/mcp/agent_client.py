"""An MCP client (the official Python SDK, 1.x or 2.x) that drives `tokenvault mcp serve`.

Reads one JSON scenario on stdin (never argv: it may hold a token the "human" types):
  {"server": {"command", "args", "env"}, "client_name": str,
   "human": null | {"token": str} | {"decision": "once"|"always"|"deny"},
   "calls": [{"tool": str, "arguments": {...}}]}
With "human" set, the client declares URL-mode elicitation; its callback plays the human: it opens
the URL it receives, probes the page's defences (wrong Host, wrong path, missing CSRF token, GET
with a value), then submits the form. Without it, the client declares no elicitation at all.
Prints one JSON line: the SDK version, the tools, every call's result, every elicitation seen.
"""
import asyncio
import importlib.metadata
import json
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

import mcp.types as types
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


def attr(obj, *names, default=None):
    """The first attribute that exists: 1.x spells fields in camelCase, 2.x in snake_case."""
    for n in names:
        if hasattr(obj, n):
            return getattr(obj, n)
    return default


def http(url, method="GET", body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode("utf-8", "replace"), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace"), dict(e.headers)


def play_human(url, human, seen):
    parts = urllib.parse.urlsplit(url)
    record = {"url": url}
    status, page, headers = http(url)
    record["get_status"] = status
    record["page"] = page
    record["csp"] = headers.get("Content-Security-Policy", "")
    # The defences: another Host (DNS rebinding), another path, a POST without the CSRF token.
    record["wrong_host_status"] = http(url, headers={"Host": "evil.example:80"})[0]
    record["wrong_path_status"] = http(f"{parts.scheme}://{parts.netloc}/not-the-secret")[0]
    record["no_csrf_status"] = http(url, "POST", b"decision=once&value=x",
                                     {"Content-Type": "application/x-www-form-urlencoded"})[0]
    record["cross_origin_status"] = http(url, "POST", b"decision=once",
                                         {"Origin": "http://evil.example",
                                          "Content-Type": "application/x-www-form-urlencoded"})[0]
    m = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    if not m:
        record["error"] = "no csrf token on the page"
        seen.append(record)
        return
    form = {"csrf": m.group(1)}
    if "token" in human:
        form["value"] = human["token"]
    else:
        form["decision"] = human["decision"]
    body = urllib.parse.urlencode(form).encode()
    status, answer, _ = http(url, "POST", body, {
        "Content-Type": "application/x-www-form-urlencoded",
        "Origin": f"{parts.scheme}://{parts.netloc}",
    })
    record["post_status"] = status
    record["answer"] = answer
    # The page serves one answer: afterwards it is gone.
    try:
        record["after_status"] = http(url)[0]
    except Exception as e:  # the server closed the port
        record["after_status"] = type(e).__name__
    seen.append(record)


async def main() -> None:
    scenario = json.loads(sys.stdin.read())
    human = scenario.get("human")
    seen = []

    async def elicit(context, params):
        mode = attr(params, "mode")
        entry = {"mode": mode, "message": attr(params, "message"),
                 "elicitation_id": attr(params, "elicitationId", "elicitation_id")}
        if mode != "url":
            seen.append(entry)
            return types.ElicitResult(action="decline")
        await asyncio.to_thread(play_human, params.url, human, seen)
        seen[-1].update(entry)
        return types.ElicitResult(action="accept")

    server = scenario["server"]
    params = StdioServerParameters(command=server["command"], args=server["args"], env=server["env"])
    kwargs = {"client_info": types.Implementation(name=scenario.get("client_name", "agent-test"), version="1.0")}
    if human is not None:
        kwargs["elicitation_callback"] = elicit
    results = []
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write, **kwargs) as session:
            init = await session.initialize()
            tools = await session.list_tools()
            for call in scenario["calls"]:
                r = await session.call_tool(call["tool"], call.get("arguments", {}))
                text = "".join(c.text for c in r.content if getattr(c, "type", "") == "text")
                results.append({
                    "tool": call["tool"],
                    "is_error": bool(attr(r, "isError", "is_error")),
                    "text": text,
                    "structured": attr(r, "structuredContent", "structured_content"),
                })
    print(json.dumps({
        "sdk": importlib.metadata.version("mcp"),
        "server": attr(attr(init, "serverInfo", "server_info"), "name"),
        "protocol": attr(init, "protocolVersion", "protocol_version"),
        "tools": sorted(t.name for t in tools.tools),
        "results": results,
        "elicitations": seen,
    }))


asyncio.run(asyncio.wait_for(main(), timeout=120))
