// Drives the emulator's /mcp endpoint with the official TypeScript MCP SDK
// (the client most MCP hosts are built on) through the seed's workflow:
// upload input.json over REST, run the seed's Python code on a thread with
// sandbox_execute, fetch output.json through a files_download URL. Checks
// what it can itself and prints a JSON summary on stdout for the Go test
// (node_test.go), which compares the downloaded bytes with the store.
//
// Environment: BAPONI_BASE_URL (e.g. http://127.0.0.1:8080), BAPONI_API_KEY.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const base = process.env.BAPONI_BASE_URL;
const key = process.env.BAPONI_API_KEY;
if (!base || !key) {
  console.error("set BAPONI_BASE_URL and BAPONI_API_KEY");
  process.exit(2);
}
const auth = { Authorization: `Bearer ${key}` };
const thread = `node-sdk-${process.pid}`;
const seedInput = '{"values": [1, 2, 3, 4, 5]}';
const seedCode = `
import json
with open('/home/baponi/input.json') as f:
    data = json.load(f)
result = {"sum": sum(data["values"]), "count": len(data["values"])}
with open('/home/baponi/output.json', 'w') as f:
    json.dump(result, f)
print(f"Processed {result['count']} values, sum = {result['sum']}")
`;

function check(cond, what, detail) {
  if (!cond) {
    console.error(`FAIL: ${what}: ${JSON.stringify(detail)}`);
    process.exit(1);
  }
}

// Step 1 (REST, as the seed): upload input.json to the thread.
const up = await fetch(`${base}/v1/files/upload_url`, {
  method: "POST",
  headers: { ...auth, "Content-Type": "application/json" },
  body: JSON.stringify({ source: "thread", id: thread, path: "input.json", content_type: "application/json", content_length: seedInput.length }),
}).then((r) => r.json());
const put = await fetch(up.url, { method: up.method, headers: up.headers, body: seedInput });
check(put.ok, "PUT input.json", put.status);

// The MCP client, configured as a host's {"url", "headers"} entry is.
const client = new Client({ name: "localbaponi-node-test", version: "1.0.0" });
const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { requestInit: { headers: auth } });
await client.connect(transport);
const server = client.getServerVersion();
const negotiated = transport.protocolVersion;

const { tools } = await client.listTools();
const names = tools.map((t) => t.name).sort();
check(JSON.stringify(names) === '["files_download","sandbox_execute"]', "tools/list", names);
const exec = tools.find((t) => t.name === "sandbox_execute");
check(exec.inputSchema.properties.thread_id && exec.outputSchema, "sandbox_execute schemas", exec);

// Step 2: the seed's code on the thread, with progress notifications.
const progress = [];
const run = await client.callTool(
  { name: "sandbox_execute", arguments: { code: seedCode, language: "python", thread_id: thread } },
  undefined,
  { onprogress: (p) => progress.push(p) },
);
check(!run.isError && run.structuredContent.success === true, "sandbox_execute", run);
check(run.structuredContent.stdout === "Processed 5 values, sum = 15\n", "stdout", run.structuredContent);
check(run.content[0].type === "text" && run.content[0].text.includes("Processed 5 values"), "text rendering", run.content);

// Step 3: files_download, then GET the URL with exactly its headers.
const dl = await client.callTool({ name: "files_download", arguments: { source: "thread", id: thread, path: "output.json" } });
check(!dl.isError && dl.structuredContent.method === "GET", "files_download", dl);
const got = await fetch(dl.structuredContent.url, { method: dl.structuredContent.method, headers: dl.structuredContent.headers });
check(got.ok, "GET the download URL", got.status);
const bytes = Buffer.from(await got.arrayBuffer());

// Errors: a platform problem is a tool error naming it; a failing program is not.
const bad = await client.callTool({ name: "sandbox_execute", arguments: { code: "print(1)", language: "ruby" } });
check(bad.isError === true && bad.content[0].text.includes("language"), "bad language is a tool error", bad);
const failing = await client.callTool({ name: "sandbox_execute", arguments: { code: "import sys; sys.exit(4)" } });
check(failing.isError !== true && failing.structuredContent.exit_code === 4 && failing.structuredContent.success === false, "failing program", failing);
const missing = await client.callTool({ name: "files_download", arguments: { source: "thread", id: thread, path: "nope.txt" } });
check(missing.isError === true && missing.content[0].text.includes("not_found"), "missing file is a tool error", missing);

await client.close();
console.log(JSON.stringify({
  server,
  protocol_version: negotiated,
  tools: names,
  thread,
  trace_id: run.structuredContent.trace_id,
  stdout: run.structuredContent.stdout,
  progress_messages: progress.map((p) => p.message ?? ""),
  download_base64: bytes.toString("base64"),
  inline: dl.structuredContent.content ?? null,
}));
