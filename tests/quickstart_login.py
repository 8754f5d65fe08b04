#!/usr/bin/env python3
"""Runs the login that deploy/quickstart.sh printed, exactly as printed, and
checks what a new user would see: 201, a JSON:API document with an access
token, and a token that verifies against the service's JWKS.

    deploy/quickstart.sh | tee out; tests/quickstart_login.py out

Prints "ok - ..." / "not ok - ..." lines and exits non-zero on failure."""
import json
import subprocess
import sys

import jwt  # Debian python3-jwt (RS256 needs python3-cryptography)


def printed_command(text):
    """The curl command after 'Log in with:', with its continuation lines."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.rstrip().endswith("Log in with:"):
            cmd = []
            for l in lines[i + 1:]:
                if not cmd and not l.strip():
                    continue
                cmd.append(l.strip())
                if not l.rstrip().endswith("\\"):
                    return "\n".join(cmd)
    return None


def main():
    text = open(sys.argv[1], encoding="utf-8").read()
    cmd = printed_command(text)
    if cmd is None or not cmd.startswith("curl "):
        print("not ok - quickstart printed a curl login command")
        return 1
    print("ok - quickstart printed a curl login command")
    out = subprocess.run(["bash", "-c", cmd], capture_output=True, timeout=30).stdout
    head, _, body = out.partition(b"\r\n\r\n")
    status = head.split(b"\r\n")[0].decode("latin-1") if head else ""
    failed = 0
    if " 201 " not in status + " ":
        print("not ok - the printed login answers 201 (got %r)" % status)
        return 1
    print("ok - the printed login answers 201")
    token = json.loads(body)["data"]["attributes"]["accessToken"]
    url = cmd.split()[cmd.split().index("POST") + 1].rsplit("/", 1)[0]
    jwks = url + "/.well-known/jwks.json"
    try:
        key = jwt.PyJWKClient(jwks).get_signing_key_from_jwt(token)
        claims = jwt.decode(token, key.key, algorithms=["RS256"], audience="frontend")
        print("ok - its access token verifies against %s (sub=%s)" % (jwks, claims["sub"]))
    except Exception as e:  # noqa: BLE001 - any failure to verify is the finding
        print("not ok - its access token verifies against %s: %s" % (jwks, e))
        failed = 1
    return failed


if __name__ == "__main__":
    sys.exit(main())
