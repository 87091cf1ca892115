// localbaponi dashboard: plain JS, no build step. Admin calls go to
// /_emulator/ with the admin token (if any, kept in sessionStorage); file
// and execute calls go to /v1 with the organisation's API key and to the
// signed URLs it returns, exactly as a client would.
"use strict";
const $ = (s) => document.querySelector(s);
const state = { orgs: [], org: null, key: "", space: null, clockOffset: 0 };

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v); else if (v !== undefined && v !== null) e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k);
  return e;
}
function showError(msg) { $("#error").textContent = msg || ""; }
function human(n) {
  if (n < 1024) return n + " B";
  const u = ["KiB", "MiB", "GiB", "TiB"]; let i = -1;
  do { n /= 1024; i++; } while (n >= 1024 && i < u.length - 1);
  return n.toFixed(1) + " " + u[i];
}
async function envelope(resp) {
  let body = {};
  try { body = await resp.json(); } catch (_) { /* not JSON */ }
  if (!resp.ok) throw new Error((body.error || "HTTP " + resp.status) + ": " + (body.message || resp.statusText));
  return body;
}
async function admin(path, method, body) {
  const h = {};
  const tok = sessionStorage.getItem("lbToken");
  if (tok) h.Authorization = "Bearer " + tok;
  if (body !== undefined) h["Content-Type"] = "application/json";
  const resp = await fetch("/_emulator" + path, { method: method || "GET", headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  if (resp.status === 401) { $("#login").hidden = false; throw new Error("sign in with the admin token"); }
  return envelope(resp);
}
async function v1(path, body, method) {
  const resp = await fetch("/v1" + path, { method: method || "POST", headers: { Authorization: "Bearer " + state.key, "Content-Type": "application/json" }, body: JSON.stringify(body) });
  return envelope(resp);
}
function guard(fn) { return async (ev) => { if (ev && ev.preventDefault) ev.preventDefault(); showError(""); try { await fn(ev); } catch (e) { showError(e.message); } }; }

async function loadOrgs() {
  const { orgs } = await admin("/orgs");
  state.orgs = orgs;
  const sel = $("#org"); const keep = state.org;
  sel.replaceChildren(...orgs.map((o) => el("option", { value: o.id }, o.id)));
  state.org = orgs.find((o) => o.id === keep) ? keep : (orgs[0] && orgs[0].id);
  sel.value = state.org || "";
  renderOrg();
}
function currentOrg() { return state.orgs.find((o) => o.id === state.org) || { keys: [], volumes: [], threads: [] }; }
function spaceButton(source, id, label) {
  const cur = state.space && state.space.source === source && state.space.id === id;
  return el("li", {}, el("button", { type: "button", "data-source": source, "data-id": id, "aria-current": cur ? "true" : "false", onclick: guard(() => openSpace(source, id)) }, label));
}
function renderOrg() {
  const o = currentOrg();
  state.key = o.keys[0] || "";
  $("#threads").replaceChildren(...o.threads.map((t) => spaceButton("thread", t, t)));
  $("#volumes").replaceChildren(...o.volumes.map((v) => spaceButton("volume", v.slug, v.slug + (v.read_only ? " (read-only)" : ""))));
  $("#keys").replaceChildren(...state.orgs.flatMap((org) => org.keys.filter(() => org.id === state.org).map((k) =>
    el("li", { class: "row" }, el("code", {}, k.slice(0, 14) + "…"), el("button", { type: "button", "aria-label": "Revoke key " + k, onclick: guard(async () => { await admin("/keys/" + encodeURIComponent(k), "DELETE"); await loadOrgs(); }) }, "Revoke")))));
  for (const v of o.volumes) {
    $("#keys").append(el("li", { class: "row" }, "volume " + v.slug, el("button", { type: "button", onclick: guard(async () => {
      await admin("/volumes/" + encodeURIComponent(state.org) + "/" + encodeURIComponent(v.slug), "PATCH", { read_only: !v.read_only }); await loadOrgs();
    }) }, v.read_only ? "Make read-write" : "Make read-only")));
  }
  if (!state.key) showError("organisation " + state.org + " has no active API key: create one");
}
async function openSpace(source, id) {
  state.space = { source, id };
  $("#space-name").textContent = "— " + source + " " + id;
  $("#run-where").textContent = source === "thread" ? "in thread " + id : "without a thread";
  renderOrg();
  await listFiles();
}
async function listFiles() {
  if (!state.space) return;
  const body = { source: state.space.source, id: state.space.id };
  const prefix = $("#prefix").value.trim();
  if (prefix) body.path = prefix;
  let files = [];
  try { files = (await v1("/files/list", body)).files; } catch (e) { if (!/not_found/.test(e.message)) throw e; }
  $("#files").replaceChildren(...files.filter((f) => !f.is_directory).map((f) => el("tr", { "data-path": f.path },
    el("td", {}, f.path), el("td", { class: "num" }, human(f.size)), el("td", {}, new Date(f.modified).toLocaleString()),
    el("td", {}, el("button", { type: "button", class: "download", "aria-label": "Download " + f.path, onclick: guard(() => download(f.path)) }, "Download"), " ",
      el("button", { type: "button", class: "delete", "aria-label": "Delete " + f.path, onclick: guard(async () => {
        if (!confirm("Delete " + f.path + "?")) return;
        await v1("/files", { ...state.space, path: f.path }, "DELETE"); await listFiles();
      }) }, "Delete")))));
}
async function download(path) {
  const s = await v1("/files/download_url", { ...state.space, path });
  const status = el("output", { class: "link-status" }, "");
  const check = el("button", { type: "button", class: "check", onclick: guard(async () => {
    const r = await fetch(s.url, { cache: "no-store" }); // a check asks the server, never the browser cache
    status.textContent = r.ok ? "HTTP " + r.status + " (works)" : "HTTP " + r.status + " (" + (await r.text()).match(/<Code>([^<]*)<\/Code>/)?.[1] + ")";
  }) }, "Check link");
  $("#links").prepend(el("p", { class: "row wrap" }, el("a", { href: s.url, download: path.split("/").pop() }, "Download " + path), " expires " + s.expires_at + " ", check, " ", status));
}
function uploadOne(file) {
  return new Promise(async (resolve, reject) => {
    try {
      const path = ($("#prefix").value.trim().replace(/[^/]*$/, "")) + file.name;
      const s = await v1("/files/upload_url", { ...state.space, path, content_type: file.type || "application/octet-stream", content_length: file.size });
      const xhr = new XMLHttpRequest();
      xhr.open(s.method || "PUT", s.url);
      for (const [k, v] of Object.entries(s.headers || {})) if (k.toLowerCase() !== "content-length" && k.toLowerCase() !== "host") xhr.setRequestHeader(k, v);
      xhr.upload.onprogress = (e) => { if (e.lengthComputable) { $("#upload-progress").value = e.loaded / e.total; $("#upload-status").textContent = file.name + ": " + human(e.loaded) + " of " + human(e.total); } };
      xhr.onload = () => (xhr.status < 300 ? resolve() : reject(new Error("upload of " + file.name + ": HTTP " + xhr.status + " " + xhr.responseText.slice(0, 300))));
      xhr.onerror = () => reject(new Error("upload of " + file.name + " failed"));
      xhr.send(file);
    } catch (e) { reject(e); }
  });
}
async function uploadAll(files) {
  if (!state.space) throw new Error("pick a thread or volume first");
  for (const f of files) await uploadOne(f);
  $("#upload-progress").value = 1;
  $("#upload-status").textContent = files.length + " file(s) uploaded";
  await listFiles();
}
async function run() {
  const out = $("#run-output"); out.replaceChildren();
  const body = { code: $("#run-code").value, language: $("#run-lang").value };
  if (state.space && state.space.source === "thread") body.thread_id = state.space.id;
  const resp = await fetch("/v1/sandbox/execute", { method: "POST", headers: { Authorization: "Bearer " + state.key, "Content-Type": "application/json", Accept: "application/x-ndjson" }, body: JSON.stringify(body) });
  if (!resp.ok) return envelope(resp);
  const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "", result = null, trace = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      const ev = JSON.parse(buf.slice(0, i)); buf = buf.slice(i + 1);
      if (ev.trace_id) trace = ev.trace_id;
      if (ev.event === "stdout" || ev.event === "stderr") out.append(el("span", { class: ev.event }, ev.data));
      if (ev.event === "result") result = ev;
    }
  }
  if (result) {
    $("#executions").prepend(el("tr", {}, el("td", {}, el("code", {}, result.trace_id || trace)), el("td", {}, body.thread_id || "—"), el("td", {}, result.status + (result.error ? ": " + result.error : "")),
      el("td", { class: "num" }, result.duration_ms + " ms"), el("td", { class: "num" }, String(result.exit_code))));
  }
  if (body.thread_id) await listFiles();
}
async function loadClock() {
  const c = await admin("/clock");
  const now = new Date(c.now);
  state.clockOffset = now - Date.now();
  $("#clock-now").textContent = now.toISOString();
  const m = Math.round(state.clockOffset / 60000);
  $("#clock-offset").textContent = (m >= 0 ? "+" : "") + m + " min" + (c.frozen ? " (frozen)" : "");
}
async function advance(by) { await admin("/clock", "POST", { advance: by }); await loadClock(); }
async function loadFaults() {
  let faults = [];
  try { faults = (await admin("/faults")).faults || []; } catch (e) { if (!/not_found/.test(e.message)) throw e; }
  $("#faults").replaceChildren(...(faults.length ? faults.map((f) => el("li", { class: "row" }, el("code", {}, f.id + " " + JSON.stringify(f.match) + " → " + JSON.stringify(f.action) + " hits " + f.hits),
    el("button", { type: "button", "aria-label": "Remove fault " + f.id, onclick: guard(async () => { await admin("/faults/" + encodeURIComponent(f.id), "DELETE"); await loadFaults(); }) }, "Remove"))) : [el("li", { class: "muted" }, "no fault rules (POST /_emulator/faults)")]));
}
async function loadRequests() {
  let reqs = [];
  try { reqs = (await admin("/requests")).requests || []; } catch (e) { if (!/not_found/.test(e.message)) throw e; }
  const route = $("#req-route").value.trim(), status = $("#req-status").value.trim();
  reqs = reqs.filter((r) => (!route || (r.route || r.url_path || "").includes(route)) && (!status || String(r.status).startsWith(status))).slice(-40).reverse();
  $("#requests").replaceChildren(...reqs.map((r) => el("tr", {}, el("td", {}, r.method), el("td", {}, r.route || r.url_path), el("td", { class: "num" }, String(r.status)), el("td", { class: "num" }, Math.round(r.duration_ms) + " ms"))));
}

function wire() {
  $("#login").addEventListener("submit", guard(async () => { sessionStorage.setItem("lbToken", $("#token").value); $("#login").hidden = true; await start(); }));
  $("#org").addEventListener("change", guard(async () => { state.org = $("#org").value; state.space = null; renderOrg(); $("#files").replaceChildren(); }));
  $("#new-thread").addEventListener("submit", guard(() => openSpace("thread", $("#new-thread-id").value.trim())));
  $("#refresh").addEventListener("click", guard(listFiles));
  $("#prefix").addEventListener("input", guard(listFiles));
  $("#upload-input").addEventListener("change", guard(async (ev) => { await uploadAll([...ev.target.files]); ev.target.value = ""; }));
  const drop = $("#drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", guard(async (e) => { drop.classList.remove("over"); await uploadAll([...e.dataTransfer.files]); }));
  drop.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); $("#upload-input").click(); } });
  $("#run").addEventListener("submit", guard(run));
  for (const b of document.querySelectorAll("[data-advance]")) b.addEventListener("click", guard(() => advance(b.dataset.advance)));
  $("#clock-custom").addEventListener("submit", guard(() => advance($("#clock-by").value.trim())));
  $("#clock-reset").addEventListener("click", guard(async () => { await admin("/clock", "POST", { set: new Date().toISOString() }); await loadClock(); }));
  $("#new-volume").addEventListener("submit", guard(async () => { await admin("/volumes", "POST", { org: state.org, slug: $("#new-volume-slug").value.trim(), read_only: $("#new-volume-ro").checked }); await loadOrgs(); }));
  $("#new-key").addEventListener("click", guard(async () => { await admin("/keys", "POST", { org: state.org }); await loadOrgs(); }));
  setInterval(() => { if ($("#req-live").checked && $("#login").hidden) loadRequests().catch(() => {}); }, 2000);
  setInterval(() => { if ($("#login").hidden) loadClock().catch(() => {}); }, 5000);
}
async function start() {
  const info = await admin("/info");
  $("#info").textContent = "backend " + info.backend + (info.version ? " · " + info.version : "");
  await Promise.all([loadOrgs(), loadClock(), loadFaults(), loadRequests()]);
}
wire();
start().catch((e) => showError(e.message));
