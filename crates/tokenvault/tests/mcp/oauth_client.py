"""A real MCP stdio client (the Python SDK, 1.x or 2.x) that launches `tokenvault mcp proxy
--oauth NAME` as a desktop client would, for the OAuth tests.

Usage: oauth_client.py PARAMS_JSON. PARAMS_JSON holds {"command", "args", "env"} (the server entry
of a client config), "mode" (2.x only: "auto" probes `server/discover` and falls back to
`initialize`; "legacy" forces `initialize`) and "steps": a list of {"call": TOOL, "arguments": {}},
{"sleep": SECONDS} or {"post": URL} (a test hook of the authorization server). The proxy's stderr
goes to this process's stderr. Prints one JSON line: the SDK line, the negotiated protocol
version, the server's name, the tools, each call's text or error, and the command lines of the
processes it launched (to check no token is in argv).
"""
import asyncio
import importlib.metadata
import json
import os
import sys
import urllib.request

from mcp import StdioServerParameters

SDK = int(importlib.metadata.version("mcp").split(".")[0])


def children_cmdlines() -> list:
    me = os.getpid()
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            if ppid != me:
                continue
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                out.append([a.decode(errors="replace") for a in f.read().split(b"\0") if a])
        except (OSError, ValueError, IndexError):
            continue
    return out


def text_of(result) -> dict:
    text = "".join(c.text for c in result.content if getattr(c, "type", "") == "text")
    is_error = getattr(result, "isError", None)
    if is_error is None:
        is_error = getattr(result, "is_error", False)
    return {"error": text} if is_error else {"text": text}


async def run_steps(call, steps, seen):
    results = []
    for step in steps:
        if "sleep" in step:
            await asyncio.sleep(step["sleep"])
        elif "post" in step:
            urllib.request.urlopen(urllib.request.Request(step["post"], data=b"", method="POST"), timeout=10)
        else:
            try:
                results.append(text_of(await call(step["call"], step.get("arguments", {}))))
            except Exception as e:  # the error the client shows its user
                results.append({"error": f"{type(e).__name__}: {e}"})
    seen["results"] = results


async def main() -> None:
    params = json.loads(sys.argv[1])
    server = StdioServerParameters(command=params["command"], args=params["args"], env=params["env"])
    seen = {"sdk": SDK}
    if SDK == 1:
        from mcp import ClientSession
        from mcp.client.stdio import stdio_client

        async with stdio_client(server) as (read, write):
            async with ClientSession(read, write) as session:
                try:
                    init = await session.initialize()
                except Exception as e:
                    seen["connect_error"] = f"{type(e).__name__}: {e}"
                    print(json.dumps(seen))
                    return
                seen["protocol"] = init.protocolVersion
                seen["server"] = init.serverInfo.name
                seen["cmdlines"] = children_cmdlines()
                seen["tools"] = sorted(t.name for t in (await session.list_tools()).tools)
                await run_steps(session.call_tool, params["steps"], seen)
    else:
        from mcp import Client

        try:
            async with Client(server, mode=params.get("mode", "auto")) as client:
                seen["protocol"] = client.protocol_version
                seen["server"] = client.server_info.name if client.server_info else None
                seen["cmdlines"] = children_cmdlines()
                seen["tools"] = sorted(t.name for t in (await client.list_tools()).tools)
                await run_steps(client.call_tool, params["steps"], seen)
        except Exception as e:
            seen["connect_error"] = f"{type(e).__name__}: {e}"
    print(json.dumps(seen))


asyncio.run(asyncio.wait_for(main(), timeout=90))
