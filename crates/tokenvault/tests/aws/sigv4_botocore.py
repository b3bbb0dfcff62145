"""Signs one request with botocore's SigV4 signer (the AWS CLI's own) and prints the headers it adds.

Used by tests/verify_providers.rs to check tokenvault's STS signing byte for byte. The request comes
as JSON on standard input (credentials never travel in argv):

    {"access_key_id", "secret_access_key", "session_token" (optional), "region", "service",
     "method", "url", "headers": {name: value}, "body", "amz_date": "20240102T030405Z"}

Output: JSON {"authorization", "x-amz-date", "x-amz-security-token"} on standard output.
"""

import datetime
import json
import sys

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def main() -> int:
    req = json.load(sys.stdin)
    fixed = datetime.datetime.strptime(req["amz_date"], "%Y%m%dT%H%M%SZ")
    # add_auth reads the clock through this function; the test fixes the time instead.
    botocore.auth.get_current_datetime = lambda *a, **k: fixed
    creds = Credentials(
        req["access_key_id"], req["secret_access_key"], req.get("session_token") or None
    )
    request = AWSRequest(
        method=req["method"],
        url=req["url"],
        headers=dict(req.get("headers", {})),
        data=req["body"].encode(),
    )
    botocore.auth.SigV4Auth(creds, req["service"], req["region"]).add_auth(request)
    json.dump(
        {
            "authorization": request.headers["Authorization"],
            "x-amz-date": request.headers["X-Amz-Date"],
            "x-amz-security-token": request.headers.get("X-Amz-Security-Token"),
        },
        sys.stdout,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
