#!/usr/bin/env python3
"""Mints a development JWT (HS256) for PostgREST: scripts/jwt.py [ROLE [SUB]].

The secret is the development one that `make up` writes into .run/postgrest.conf
(override with SPECSTAR_JWT_SECRET). Standard library only."""
import base64
import hashlib
import hmac
import json
import os
import sys
import time

DEV_SECRET = "specstar-development-secret-not-for-production"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint(role: str, sub: str, secret: str = "", ttl: int = 3600) -> str:
    secret = secret or os.environ.get("SPECSTAR_JWT_SECRET", DEV_SECRET)
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = b64(json.dumps({"role": role, "sub": sub, "exp": int(time.time()) + ttl}).encode())
    signature = hmac.new(secret.encode(), f"{header}.{claims}".encode(), hashlib.sha256).digest()
    return f"{header}.{claims}.{b64(signature)}"


if __name__ == "__main__":
    role = sys.argv[1] if len(sys.argv) > 1 else "web_writer"
    sub = sys.argv[2] if len(sys.argv) > 2 else "developer"
    print(mint(role, sub))
