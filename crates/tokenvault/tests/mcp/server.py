"""A real MCP stdio server (Python SDK FastMCP) for tokenvault's tests.

Its one tool reports a fingerprint of the HF_TOKEN it was started with, so the test can prove the
server saw the vault's token without the token itself crossing the JSON-RPC stream.
"""
import hashlib
import os

from mcp.server.fastmcp import FastMCP

mcp = FastMCP("tokenvault-test-server")


@mcp.tool()
def token_fingerprint() -> str:
    """SHA-256 of the HF_TOKEN environment variable, or 'missing'."""
    token = os.environ.get("HF_TOKEN")
    if not token:
        return "missing"
    return hashlib.sha256(token.encode()).hexdigest()


if __name__ == "__main__":
    mcp.run("stdio")
