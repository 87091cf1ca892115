#!/usr/bin/env bash
# The Files API page's curl workflow (README "The seed's curl workflow")
# against a running localbaponi at $BASE (default http://127.0.0.1:8080):
# upload, list, download, compare, delete. Needs curl and jq.
set -euo pipefail
BASE=${BASE:-http://127.0.0.1:8080}
export BAPONI_API_KEY=${BAPONI_API_KEY:-sk-us-bG9jYWwtZGV2LWtleQ}
THREAD=my-thread-123-$$
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
echo '{"values": [1, 2, 3, 4, 5]}' > input.json

UPLOAD=$(curl -sS --fail-with-body -X POST "$BASE/v1/files/upload_url" \
  -H "Authorization: Bearer $BAPONI_API_KEY" -H "Content-Type: application/json" \
  -d "{\"source\": \"thread\", \"id\": \"$THREAD\", \"path\": \"input.json\",
       \"content_type\": \"application/json\", \"content_length\": $(stat -c %s input.json)}")
curl -sS --fail-with-body -X PUT "$(echo "$UPLOAD" | jq -r .url)" -H "Content-Type: application/json" --data-binary @input.json

curl -sS --fail-with-body -X POST "$BASE/v1/files/list" -H "Authorization: Bearer $BAPONI_API_KEY" \
  -H "Content-Type: application/json" -d "{\"source\": \"thread\", \"id\": \"$THREAD\"}" | jq -e '.files[0].path == "input.json"' >/dev/null

DOWNLOAD=$(curl -sS --fail-with-body -X POST "$BASE/v1/files/download_url" \
  -H "Authorization: Bearer $BAPONI_API_KEY" -H "Content-Type: application/json" \
  -d "{\"source\": \"thread\", \"id\": \"$THREAD\", \"path\": \"input.json\"}")
curl -sS --fail-with-body -o output.json "$(echo "$DOWNLOAD" | jq -r .url)"
cmp input.json output.json

curl -sS --fail-with-body -X DELETE "$BASE/v1/files" -H "Authorization: Bearer $BAPONI_API_KEY" \
  -H "Content-Type: application/json" \
  -d "{\"source\": \"thread\", \"id\": \"$THREAD\", \"path\": \"input.json\"}" | jq -e '.deleted == true' >/dev/null
echo "seed curl flow at $BASE: OK"
