"""An OAuth-protected MCP server and its authorization server, in one process, for `mcp login` /
`mcp proxy --oauth` tests. Runs under either SDK line (1.x FastMCP, 2.x MCPServer).

Usage: oauth_peer.py AS_PORT MCP_PORT RECORD_FILE TOKENS_FILE [--expires SECONDS] [--modern-only]

The authorization server (starlette, 127.0.0.1:AS_PORT) implements RFC 8414 metadata, RFC 7591
registration, authorize (PKCE S256 required, `resource` required, redirect URI must be the one
registered), token (authorization_code with the PKCE check; refresh_token with rotation: a used
refresh token is dead), RFC 7009 revocation, and test hooks: POST /admin/revoke-access (kills
every access token, keeps refresh tokens), POST /admin/revoke-all, and POST /admin/issue (a client
and its tokens, as another client's own login would have got them). It "is" the user too: the
authorize endpoint consents at once and redirects to the loopback with the code.

The MCP server (127.0.0.1:MCP_PORT/mcp) is the SDK's own, protected by its AuthSettings and a
token_verifier that asks the authorization server's token table (in process). Access tokens expire
after --expires seconds (default 3600). Tokens are never minted here: they are taken in order from
TOKENS_FILE (a JSON list the test generated and registered with its leak check).

--modern-only (2.x): a middleware refuses every request that is not of the 2026-07-28 era (no
`MCP-Protocol-Version: 2026-07-28`) with 400, as a server of that revision alone would.

RECORD_FILE gets one JSON line per request: which endpoint, and for MCP requests the index of the
token used (never the token), the MCP headers and the status.
"""
import base64
import hashlib
import json
import secrets
import sys
import time
import urllib.parse

import anyio
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

AS_PORT = int(sys.argv[1])
MCP_PORT = int(sys.argv[2])
RECORD = sys.argv[3]
with open(sys.argv[4], encoding="utf-8") as f:
    POOL = json.load(f)
EXPIRES = 3600
if "--expires" in sys.argv:
    EXPIRES = int(sys.argv[sys.argv.index("--expires") + 1])
MODERN_ONLY = "--modern-only" in sys.argv

ISSUER = f"http://127.0.0.1:{AS_PORT}"
RESOURCE = f"http://127.0.0.1:{MCP_PORT}/mcp"

clients = {}  # client_id -> redirect_uris
codes = {}  # code -> {client_id, redirect_uri, challenge, resource, scope}
access = {}  # token -> {exp, client_id, resource, scopes, alive}
refresh = {}  # token -> {client_id, resource, scopes, alive}
issued = []  # every token handed out, in order (index = position in POOL)


def record(entry: dict) -> None:
    with open(RECORD, "a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")


def take() -> str:
    token = POOL[len(issued)]
    issued.append(token)
    return token


def index_of(token: str):
    return POOL.index(token) if token in POOL else None


def oauth_error(code: str, description: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": code, "error_description": description}, status_code=status)


async def metadata(request: Request) -> Response:
    record({"as": "metadata", "path": request.url.path})
    return JSONResponse({
        "issuer": ISSUER,
        "authorization_endpoint": f"{ISSUER}/authorize",
        "token_endpoint": f"{ISSUER}/token",
        "registration_endpoint": f"{ISSUER}/register",
        "revocation_endpoint": f"{ISSUER}/revoke",
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none"],
        "scopes_supported": ["mcp:tools"],
    })


async def register(request: Request) -> Response:
    doc = await request.json()
    uris = doc.get("redirect_uris") or []
    ok = bool(uris) and all(u.startswith("http://127.0.0.1:") for u in uris)
    record({"as": "register", "ok": ok, "auth_method": doc.get("token_endpoint_auth_method"),
            "grant_types": doc.get("grant_types")})
    if not ok:
        return oauth_error("invalid_redirect_uri", "loopback redirect URIs only")
    client_id = f"client-{len(clients) + 1}"
    clients[client_id] = uris
    return JSONResponse({"client_id": client_id, "redirect_uris": uris,
                         "token_endpoint_auth_method": "none"}, status_code=201)


async def authorize(request: Request) -> Response:
    q = request.query_params
    problems = []
    if q.get("response_type") != "code":
        problems.append("response_type")
    if q.get("client_id") not in clients:
        problems.append("client_id")
    elif q.get("redirect_uri") not in clients[q["client_id"]]:
        problems.append("redirect_uri")
    if q.get("code_challenge_method") != "S256" or len(q.get("code_challenge", "")) != 43:
        problems.append("pkce")
    if q.get("resource") != RESOURCE:
        problems.append("resource")
    if not q.get("state"):
        problems.append("state")
    record({"as": "authorize", "problems": problems, "scope": q.get("scope")})
    if problems:
        return oauth_error("invalid_request", "bad " + ", ".join(problems))
    code = secrets.token_urlsafe(24)
    codes[code] = {"client_id": q["client_id"], "redirect_uri": q["redirect_uri"],
                   "challenge": q["code_challenge"], "resource": q["resource"],
                   "scope": q.get("scope", "")}
    target = q["redirect_uri"] + "?" + urllib.parse.urlencode({"code": code, "state": q["state"]})
    return RedirectResponse(target, status_code=302)


def issue(client_id: str, resource: str, scope: str) -> dict:
    a, r = take(), take()
    access[a] = {"exp": time.time() + EXPIRES, "client_id": client_id, "resource": resource,
                 "scopes": scope.split() if scope else [], "alive": True}
    refresh[r] = {"client_id": client_id, "resource": resource, "scope": scope, "alive": True}
    return {"access_token": a, "token_type": "Bearer", "expires_in": EXPIRES,
            "refresh_token": r, "scope": scope}


async def token(request: Request) -> Response:
    form = await request.form()
    grant = form.get("grant_type")
    if grant == "authorization_code":
        c = codes.pop(form.get("code", ""), None)
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        checks = {
            "code": c is not None,
            "client": c is not None and form.get("client_id") == c["client_id"],
            "redirect_uri": c is not None and form.get("redirect_uri") == c["redirect_uri"],
            "pkce": c is not None and challenge == c["challenge"],
            "resource": form.get("resource") == RESOURCE,
        }
        record({"as": "token", "grant": grant, "checks": checks})
        if not all(checks.values()):
            return oauth_error("invalid_grant", "failed: " + ", ".join(k for k, v in checks.items() if not v))
        answer = issue(c["client_id"], c["resource"], c["scope"])
        record({"as": "issued", "access": index_of(answer["access_token"]),
                "refresh": index_of(answer["refresh_token"])})
        return JSONResponse(answer, headers={"Cache-Control": "no-store"})
    if grant == "refresh_token":
        old = form.get("refresh_token", "")
        r = refresh.get(old)
        ok = r is not None and r["alive"] and form.get("client_id") == r["client_id"]
        record({"as": "token", "grant": grant, "ok": ok, "refresh": index_of(old),
                "resource": form.get("resource") == RESOURCE})
        if not ok:
            return oauth_error("invalid_grant", "the refresh token is invalid, used or revoked")
        r["alive"] = False  # rotation: a refresh token is good for one use
        answer = issue(r["client_id"], r["resource"], r["scope"])
        record({"as": "issued", "access": index_of(answer["access_token"]),
                "refresh": index_of(answer["refresh_token"])})
        return JSONResponse(answer, headers={"Cache-Control": "no-store"})
    record({"as": "token", "grant": grant, "ok": False})
    return oauth_error("unsupported_grant_type", str(grant))


async def revoke(request: Request) -> Response:
    form = await request.form()
    t = form.get("token", "")
    found = None
    if t in refresh:
        refresh[t]["alive"] = False
        found = "refresh_token"
    if t in access:
        access[t]["alive"] = False
        found = "access_token"
    record({"as": "revoke", "found": found, "hint": form.get("token_type_hint"), "index": index_of(t)})
    return Response(status_code=200)


async def admin_revoke_access(request: Request) -> Response:
    for a in access.values():
        a["alive"] = False
    record({"as": "admin", "revoked": "access"})
    return Response(status_code=200)


async def admin_revoke_all(request: Request) -> Response:
    for t in list(access.values()) + list(refresh.values()):
        t["alive"] = False
    record({"as": "admin", "revoked": "all"})
    return Response(status_code=200)


async def admin_issue(request: Request) -> Response:
    """Stands in for another client's own login (mcp-remote's): registers a client and issues
    it tokens directly, answered in the shape mcp-remote stores."""
    client_id = f"client-{len(clients) + 1}"
    clients[client_id] = ["http://127.0.0.1:1/callback"]
    answer = issue(client_id, RESOURCE, "mcp:tools")
    record({"as": "admin", "issued": index_of(answer["access_token"]),
            "refresh": index_of(answer["refresh_token"])})
    return JSONResponse({"client_id": client_id, "tokens": answer})


as_app = Starlette(routes=[
    Route("/admin/issue", admin_issue, methods=["POST"]),
    Route("/.well-known/oauth-authorization-server", metadata),
    Route("/register", register, methods=["POST"]),
    Route("/authorize", authorize),
    Route("/token", token, methods=["POST"]),
    Route("/revoke", revoke, methods=["POST"]),
    Route("/admin/revoke-access", admin_revoke_access, methods=["POST"]),
    Route("/admin/revoke-all", admin_revoke_all, methods=["POST"]),
])

# --- the MCP server, from whichever SDK line runs this script ---------------------------------

from mcp.server.auth.provider import AccessToken  # noqa: E402
from mcp.server.auth.settings import AuthSettings  # noqa: E402

try:
    from mcp.server.fastmcp import FastMCP as ServerClass  # 1.x
    SDK = 1
except ImportError:
    from mcp.server.mcpserver import MCPServer as ServerClass  # 2.x
    SDK = 2


class Verifier:
    async def verify_token(self, token: str):
        a = access.get(token)
        if a is None or not a["alive"] or a["exp"] < time.time():
            return None
        return AccessToken(token=token, client_id=a["client_id"], scopes=a["scopes"],
                           expires_at=int(a["exp"]), resource=a["resource"])


server = ServerClass(
    "tokenvault-oauth-test-server",
    token_verifier=Verifier(),
    auth=AuthSettings(issuer_url=ISSUER, resource_server_url=RESOURCE, required_scopes=["mcp:tools"],
                      validate_token_resource=True),
)


@server.tool()
def echo(text: str) -> str:
    """Returns its argument."""
    return text


@server.tool()
def sdk() -> str:
    """Which SDK line serves this."""
    return f"mcp {SDK}.x"


mcp_app = server.streamable_http_app()


class Record:
    """Records every MCP request (token by index only); with --modern-only, refuses 2025 requests."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        auth = headers.get("authorization", "")
        tok = auth[len("Bearer "):] if auth.startswith("Bearer ") else None
        entry = {
            "mcp": scope["method"],
            "path": scope["path"],
            "token": index_of(tok) if tok else None,
            "protocol": headers.get("mcp-protocol-version"),
            "method": headers.get("mcp-method"),
            "name": headers.get("mcp-name"),
            "session": headers.get("mcp-session-id") is not None,
        }
        status = {}

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        if (MODERN_ONLY and scope["path"].startswith("/mcp")
                and headers.get("mcp-protocol-version") != "2026-07-28" and tok is not None
                and tok in access):
            body = json.dumps({"jsonrpc": "2.0", "id": None, "error": {
                "code": -32022, "message": "this server speaks only 2026-07-28",
                "data": {"supported": ["2026-07-28"], "requested": headers.get("mcp-protocol-version")}}})
            await send_wrapper({"type": "http.response.start", "status": 400,
                                "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": body.encode()})
        else:
            await self.app(scope, receive, send_wrapper)
        entry["status"] = status.get("code")
        record(entry)


async def main() -> None:
    a = uvicorn.Server(uvicorn.Config(as_app, host="127.0.0.1", port=AS_PORT, log_level="warning"))
    m = uvicorn.Server(uvicorn.Config(Record(mcp_app), host="127.0.0.1", port=MCP_PORT,
                                      log_level="warning", lifespan="on"))
    async with anyio.create_task_group() as tg:
        tg.start_soon(a.serve)
        tg.start_soon(m.serve)


anyio.run(main)
