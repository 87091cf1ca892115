#!/usr/bin/env python3
"""The Files API page's complete Python workflow (upload, execute, download,
list), unchanged but for API_KEY and BASE_URL, against a running localbaponi;
plus the volumes: the code also reads /volumes/reference-data and writes
/volumes/shared-data. Exits non-zero if anything differs from the page.

    BASE_URL=http://127.0.0.1:8080 python3 scripts/seed-flow.py
"""
import os
import sys
import uuid

import requests

API_KEY = os.environ.get("BAPONI_API_KEY", "sk-us-bG9jYWwtZGV2LWtleQ")
BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:8080")
HEADERS = {"Authorization": f"Bearer {API_KEY}"}
THREAD_ID = "analysis-run-42-" + uuid.uuid4().hex[:8]

# --- Step 1: Upload input data to the thread ---
input_data = b'{"values": [1, 2, 3, 4, 5]}'
upload_resp = requests.post(
    f"{BASE_URL}/v1/files/upload_url",
    headers=HEADERS,
    json={
        "source": "thread",
        "id": THREAD_ID,
        "path": "input.json",
        "content_type": "application/json",
        "content_length": len(input_data),
    },
).json()
requests.put(
    upload_resp["url"],
    headers=upload_resp["headers"],
    data=input_data,
).raise_for_status()
print("Uploaded input.json")

# --- Step 2: Execute code that reads input and writes output ---
exec_resp = requests.post(
    f"{BASE_URL}/v1/sandbox/execute",
    headers={**HEADERS, "Content-Type": "application/json"},
    json={
        "code": """
import json
with open('/home/baponi/input.json') as f:
    data = json.load(f)
result = {"sum": sum(data["values"]), "count": len(data["values"])}
with open('/home/baponi/output.json', 'w') as f:
    json.dump(result, f)
print(f"Processed {result['count']} values, sum = {result['sum']}")
print("reference:", open('/volumes/reference-data/README.txt').read().strip()[:40])
with open('/volumes/shared-data/from-%s.txt', 'w') as f:
    f.write('written by the sandbox')
""" % THREAD_ID,
        "language": "python",
        "thread_id": THREAD_ID,
    },
).json()
print(f"Execution stdout: {exec_resp['stdout']}")
if not exec_resp.get("success"):
    sys.exit(f"execute failed: {exec_resp}")

# --- Step 3: Download the output ---
download_resp = requests.post(
    f"{BASE_URL}/v1/files/download_url",
    headers=HEADERS,
    json={
        "source": "thread",
        "id": THREAD_ID,
        "path": "output.json",
    },
).json()
got = requests.get(download_resp["url"])
got.raise_for_status()
output = got.json()
print(f"Result: {output}")
if output != {"sum": 15, "count": 5}:
    sys.exit(f"want {{'sum': 15, 'count': 5}}, got {output}")

# --- Step 4: Verify files are persisted ---
list_resp = requests.post(
    f"{BASE_URL}/v1/files/list",
    headers=HEADERS,
    json={"source": "thread", "id": THREAD_ID},
).json()
for f in list_resp["files"]:
    print(f" {f['path']} ({f['size']} bytes)")
sizes = {f["path"]: f["size"] for f in list_resp["files"]}
# The page's comment says 25 bytes for output.json; json.dump writes 23
# ('{"sum": 15, "count": 5}'), which is what was downloaded.
if sizes != {"input.json": 27, "output.json": len(got.content)}:
    sys.exit(f"want input.json (27 bytes) and output.json ({len(got.content)} bytes), got {sizes}")

shared = requests.post(
    f"{BASE_URL}/v1/files/list",
    headers=HEADERS,
    json={"source": "volume", "id": "shared-data"},
).json()
if f"from-{THREAD_ID}.txt" not in [f["path"] for f in shared["files"]]:
    sys.exit(f"the sandbox's write to /volumes/shared-data is not listed: {shared}")
print("seed Python flow: OK")
