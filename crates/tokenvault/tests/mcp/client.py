"""A real MCP stdio client (Python SDK) that starts a server the way a desktop client does.

Usage: client.py PARAMS_JSON. PARAMS_JSON holds {"command", "args", "env"}: the exact server
entry a client config would have. Prints one JSON line with what the session saw.
"""
import asyncio
import json
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


async def main() -> None:
    params = json.loads(sys.argv[1])
    server = StdioServerParameters(command=params["command"], args=params["args"], env=params["env"])
    async with stdio_client(server) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            tools = await session.list_tools()
            result = await session.call_tool("token_fingerprint", {})
            text = "".join(c.text for c in result.content if getattr(c, "type", "") == "text")
            print(json.dumps({
                "server": init.serverInfo.name,
                "protocol": init.protocolVersion,
                "tools": [t.name for t in tools.tools],
                "fingerprint": text,
                "is_error": bool(result.isError),
            }))


asyncio.run(asyncio.wait_for(main(), timeout=60))
