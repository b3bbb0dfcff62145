"""Plays the user's browser for `mcp login` tests (set as $BROWSER): GETs the authorization
address it is given, follows the authorization server's redirect to tokenvault's loopback
listener, and appends what happened to the file in $OAUTH_BROWSER_LOG (status and the host:port it
ended on; no code, no token). Prints nothing.
"""
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

url = sys.argv[1]
entry = {"start": urllib.parse.urlsplit(url).path}
try:
    with urllib.request.urlopen(url, timeout=20) as r:
        final = urllib.parse.urlsplit(r.geturl())
        entry.update(status=r.status, ended=f"{final.hostname}:{final.port}{final.path}",
                     page=r.read().decode("utf-8", "replace")[-200:])
except urllib.error.HTTPError as e:
    entry.update(status=e.code, page=e.read().decode("utf-8", "replace")[-300:])
except Exception as e:  # noqa: BLE001 - reported to the test
    entry.update(error=f"{type(e).__name__}: {e}")
log = os.environ.get("OAUTH_BROWSER_LOG")
if log:
    with open(log, "a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")
