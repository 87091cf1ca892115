#!/usr/bin/env python3
"""Checks that a running localbaponi hands each client URLs that work for it:
for every base URL given (the same emulator reached as 127.0.0.1, localhost,
a mapped port...), upload_url and download_url must start with that base,
and a PUT and a GET through them must round-trip the bytes.

    python3 scripts/check-urls.py http://127.0.0.1:18080 http://localhost:18080
"""
import os
import sys
import uuid

import requests

API_KEY = os.environ.get("BAPONI_API_KEY", "sk-us-bG9jYWwtZGV2LWtleQ")
HEADERS = {"Authorization": f"Bearer {API_KEY}"}


def check(base):
    thread = "urls-" + uuid.uuid4().hex[:8]
    data = f"reached at {base}".encode()
    up = requests.post(f"{base}/v1/files/upload_url", headers=HEADERS, json={
        "source": "thread", "id": thread, "path": "u.txt",
        "content_type": "text/plain", "content_length": len(data)}).json()
    if not up["url"].startswith(base + "/"):
        sys.exit(f"{base}: upload URL {up['url']} does not start with {base}")
    requests.request(up["method"], up["url"], headers=up["headers"], data=data).raise_for_status()
    dl = requests.post(f"{base}/v1/files/download_url", headers=HEADERS, json={
        "source": "thread", "id": thread, "path": "u.txt"}).json()
    if not dl["url"].startswith(base + "/"):
        sys.exit(f"{base}: download URL {dl['url']} does not start with {base}")
    got = requests.get(dl["url"])
    got.raise_for_status()
    if got.content != data:
        sys.exit(f"{base}: downloaded {got.content!r}, want {data!r}")
    backend = requests.get(f"{base}/_emulator/info").json()["backend"]
    print(f"URLs for {base} ({backend}): OK ({up['url'][:60]}...)")


for b in sys.argv[1:]:
    check(b.rstrip("/"))
