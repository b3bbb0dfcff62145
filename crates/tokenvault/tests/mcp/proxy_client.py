"""A real MCP stdio client (Python SDK) that launches `tokenvault mcp proxy` as a desktop client
would, for `mcp proxy` tests.

Usage: proxy_client.py PARAMS_JSON. PARAMS_JSON holds {"command", "args", "env"} (the server entry
of a client config), "errlog" (where the proxy's stderr goes) and "mode": "full" (initialize,
tools/list, tool calls, a ping during a slow call, server notifications) or "init" (only
initialize; reports the error the client got). Prints one JSON line with what the session saw,
including the command lines of the processes it launched (to check no token is in argv).
"""
import asyncio
import json
import os
import sys
import time

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


def children_cmdlines() -> list:
    """The argv of every live child process of this one (the proxy)."""
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


def text_of(result) -> str:
    return "".join(c.text for c in result.content if getattr(c, "type", "") == "text")


async def main() -> None:
    params = json.loads(sys.argv[1])
    server = StdioServerParameters(command=params["command"], args=params["args"], env=params["env"])
    logs = []
    t0 = time.monotonic()

    async def on_log(p) -> None:
        logs.append({"at": time.monotonic() - t0, "data": p.data})

    seen = {}
    with open(params["errlog"], "w", encoding="utf-8") as errlog:
        async with stdio_client(server, errlog=errlog) as (read, write):
            async with ClientSession(read, write, logging_callback=on_log) as session:
                if params["mode"] == "init":
                    try:
                        await asyncio.wait_for(session.initialize(), 30)
                        seen["error"] = None
                    except Exception as e:  # the error the client shows its user
                        seen["error"] = f"{type(e).__name__}: {e}"
                    seen["cmdlines"] = children_cmdlines()
                    print(json.dumps(seen))
                    return
                init = await session.initialize()
                seen["server"] = init.serverInfo.name
                seen["protocol"] = init.protocolVersion
                seen["cmdlines"] = children_cmdlines()
                tools = await session.list_tools()
                seen["tools"] = sorted(t.name for t in tools.tools)
                seen["echo"] = text_of(await session.call_tool("echo", {"text": "hi there"}))

                # A ping while a slow call is running must not wait for it.
                start = time.monotonic() - t0
                slow = asyncio.create_task(session.call_tool("slow", {"seconds": 4}))
                await asyncio.sleep(0.3)
                await session.send_ping()
                seen["ping_after"] = time.monotonic() - t0 - start
                seen["slow"] = text_of(await slow)
                seen["slow_after"] = time.monotonic() - t0 - start
                started = [l["at"] - start for l in logs if l["data"] == "slow tool started"]
                seen["slow_log_after"] = started[0] if started else None

                seen["announce"] = text_of(await session.call_tool("announce", {}))
                for _ in range(100):
                    if any(l["data"] == "hello from the GET stream" for l in logs):
                        break
                    await asyncio.sleep(0.05)
                seen["logs"] = [l["data"] for l in logs]
    print(json.dumps(seen))


asyncio.run(asyncio.wait_for(main(), timeout=90))
