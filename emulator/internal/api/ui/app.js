// localbaponi dashboard: plain JS, no build step. Admin calls go to
// /_emulator/ with the admin token (if any, kept in sessionStorage); file
// and execute calls go to /v1 with the organisation's API key and to the
// signed URLs it returns, exactly as a client would.
"use strict";
const $ = (s) => document.querySelector(s);
const state = { orgs: [], org: null, key: "", space: null };

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
function utc(s) { return s ? s.replace("T", " ").replace(/(\.\d+)?Z$/, "") : ""; }
function minute(s) { return el("span", { title: s }, utc(s).slice(0, 16)); }
function emptyRow(cols, text) { return el("tr", { class: "empty" }, el("td", { colspan: cols, class: "muted" }, text)); }
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
  if (resp.status === 401) {
    $("#login").hidden = false; $("#token").focus();
    throw new Error(tok ? "the admin token was refused: sign in again" : "sign in with the admin token");
  }
  return envelope(resp);
}
async function v1(path, body, method) {
  if (!state.key) throw new Error("organisation " + state.org + " has no active API key: create one (Volumes and keys)");
  const resp = await fetch("/v1" + path, { method: method || "POST", headers: { Authorization: "Bearer " + state.key, "Content-Type": "application/json" }, body: JSON.stringify(body) });
  return envelope(resp);
}
function guard(fn) { return async (ev) => { if (ev && ev.preventDefault) ev.preventDefault(); showError(""); try { await fn(ev); } catch (e) { showError(e.message); } }; }
function q(params) { return new URLSearchParams(Object.entries(params).filter(([, v]) => v !== "" && v !== undefined && v !== null)).toString(); }

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
  const threads = o.threads.slice();
  if (state.space && state.space.source === "thread" && !threads.includes(state.space.id)) threads.push(state.space.id);
  $("#threads").replaceChildren(...(threads.length ? threads.map((t) => spaceButton("thread", t, t)) : [el("li", { class: "muted" }, "no threads with files")]));
  $("#volumes").replaceChildren(...o.volumes.map((v) => spaceButton("volume", v.slug, v.slug + (v.read_only ? " (read-only)" : ""))));
  $("#keys").replaceChildren(...o.keys.map((k) => el("li", { class: "row" }, el("code", { title: k }, k.slice(0, 16) + "…"),
    el("button", { type: "button", class: "danger", "data-key": k, "aria-label": "Revoke key " + k.slice(0, 16), onclick: guard(async () => { await admin("/keys/" + encodeURIComponent(k), "DELETE"); await loadOrgs(); }) }, "Revoke"))));
  if (!o.keys.length) $("#keys").append(el("li", { class: "muted" }, "no active key: the page cannot call /v1"));
  $("#volume-admin").replaceChildren(...o.volumes.map((v) => el("li", { class: "row" }, el("span", {}, v.slug + (v.read_only ? " (read-only)" : "")),
    el("button", { type: "button", "data-volume": v.slug, "aria-label": (v.read_only ? "Make volume " + v.slug + " read-write" : "Make volume " + v.slug + " read-only"), onclick: guard(async () => {
      await admin("/volumes/" + encodeURIComponent(state.org) + "/" + encodeURIComponent(v.slug), "PATCH", { read_only: !v.read_only }); await loadOrgs();
    }) }, v.read_only ? "Make read-write" : "Make read-only"))));
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
  const prefix = $("#prefix").value.trim();
  let files = [], truncated = false;
  try {
    ({ files, truncated } = await admin("/files?" + q({ org: state.org, source: state.space.source, id: state.space.id, prefix })));
  } catch (e) { if (!/not_found/.test(e.message)) throw e; }
  $("#files-count").textContent = files.length + " file(s)" + (truncated ? ", more not shown" : "");
  $("#files").replaceChildren(...(files.length ? files.map(fileRow) : [emptyRow(5, prefix ? "no files under " + prefix : "no files yet")]));
}
function fileRow(f) {
  const del = el("button", { type: "button", class: "delete danger", "aria-label": "Delete " + f.path }, "Delete");
  del.addEventListener("click", guard(async () => {
    if (del.dataset.armed !== "1") { // a second press confirms: no modal dialog
      del.dataset.armed = "1"; del.textContent = "Confirm"; del.setAttribute("aria-label", "Confirm delete of " + f.path);
      setTimeout(() => { del.dataset.armed = ""; del.textContent = "Delete"; del.setAttribute("aria-label", "Delete " + f.path); }, 5000);
      return;
    }
    await v1("/files", { ...state.space, path: f.path }, "DELETE"); await listFiles();
  }));
  return el("tr", { "data-path": f.path },
    el("td", { title: f.path }, f.path), el("td", { class: "num", title: f.size + " bytes" }, human(f.size)), el("td", {}, minute(f.modified)),
    el("td", { class: "ctype", title: f.content_type }, f.content_type),
    el("td", {}, el("button", { type: "button", class: "download", "aria-label": "Download " + f.path, onclick: guard(() => download(f.path)) }, "Download"), " ", del));
}
async function download(path) {
  const s = await v1("/files/download_url", { ...state.space, path });
  const name = path.split("/").pop();
  // The browser honours download= only on its own origin; a URL on another
  // host (--external-url) opens in a new tab rather than replacing the page.
  const same = new URL(s.url, location.href).origin === location.origin;
  const a = el("a", same ? { href: s.url, download: name } : { href: s.url, target: "_blank", rel: "noopener" }, "Download " + path);
  const status = el("output", { class: "link-status" }, "");
  const check = el("button", { type: "button", class: "check", "aria-label": "Check link to " + path, onclick: guard(async () => {
    const r = await fetch(s.url, { cache: "no-store" }); // a check asks the server, never the browser cache
    status.textContent = r.ok ? "HTTP " + r.status + " (works)" : "HTTP " + r.status + " (" + ((await r.text()).match(/<Code>([^<]*)<\/Code>/)?.[1] || "error") + ")";
  }) }, "Check link");
  $("#links").prepend(el("p", { class: "row wrap" }, a, " expires " + utc(s.expires_at) + " UTC ", check, " ", status));
  if (same) a.click(); // the browser saves it under its name
}
function uploadOne(file, i, n) {
  return new Promise(async (resolve, reject) => {
    try {
      const path = ($("#prefix").value.trim().replace(/[^/]*$/, "")) + file.name;
      const s = await v1("/files/upload_url", { ...state.space, path, content_type: file.type || "application/octet-stream", content_length: file.size });
      const xhr = new XMLHttpRequest();
      xhr.open(s.method || "PUT", s.url);
      for (const [k, v] of Object.entries(s.headers || {})) if (k.toLowerCase() !== "content-length" && k.toLowerCase() !== "host") xhr.setRequestHeader(k, v);
      $("#upload-status").textContent = "uploading " + path + " (" + human(file.size) + ", " + (i + 1) + " of " + n + ")";
      xhr.upload.onprogress = (e) => {
        if (!e.lengthComputable) return;
        const f = (i + e.loaded / e.total) / n;
        $("#upload-progress").value = f; $("#upload-pct").textContent = Math.floor(f * 100) + "%";
      };
      xhr.onload = () => (xhr.status < 300 ? resolve() : reject(new Error("upload of " + file.name + ": HTTP " + xhr.status + " " + xhr.responseText.slice(0, 300))));
      xhr.onerror = () => reject(new Error("upload of " + file.name + " failed (network error)"));
      xhr.send(file);
    } catch (e) { reject(e); }
  });
}
async function uploadAll(files) {
  if (!state.space) throw new Error("pick a thread or volume first");
  if (!files.length) return;
  $("#upload-progress").value = 0; $("#upload-pct").textContent = "0%";
  try {
    for (let i = 0; i < files.length; i++) await uploadOne(files[i], i, files.length);
    $("#upload-progress").value = 1; $("#upload-pct").textContent = "100%";
    $("#upload-status").textContent = files.length + " file(s) uploaded";
  } catch (e) { $("#upload-status").textContent = "upload failed"; throw e; } finally { await listFiles().catch(() => {}); await loadOrgs().catch(() => {}); }
}
async function run() {
  const out = $("#run-output"); out.replaceChildren();
  const body = { code: $("#run-code").value, language: $("#run-lang").value };
  if (state.space && state.space.source === "thread") body.thread_id = state.space.id;
  if (!state.key) throw new Error("organisation " + state.org + " has no active API key: create one");
  $("#run-btn").disabled = true;
  try {
    const resp = await fetch("/v1/sandbox/execute", { method: "POST", headers: { Authorization: "Bearer " + state.key, "Content-Type": "application/json", Accept: "application/x-ndjson" }, body: JSON.stringify(body) });
    if (!resp.ok) return await envelope(resp);
    const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "", result = null;
    loadExecutions().catch(() => {}); // shows it running
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        const ev = JSON.parse(buf.slice(0, i)); buf = buf.slice(i + 1);
        if (ev.event === "stdout" || ev.event === "stderr") out.append(el("span", { class: ev.event }, ev.data));
        if (ev.event === "result") result = ev;
      }
    }
    if (result) out.append(el("span", { class: "muted" }, "\n[" + result.status + ", exit " + result.exit_code + ", " + result.duration_ms + " ms" + (result.error ? ": " + result.error : "") + "]"));
  } finally {
    $("#run-btn").disabled = false;
    await loadExecutions();
    if (body.thread_id) { await listFiles(); await loadOrgs(); }
  }
}
async function loadExecutions() {
  const { executions, enabled } = await admin("/executions?" + q({ org: state.org, limit: 20 }));
  const rows = [];
  for (const x of executions) {
    rows.push(el("tr", { "data-trace": x.trace_id }, el("td", {}, minute(x.created_at)), el("td", {}, x.thread_id || "—"), el("td", {}, x.language),
      el("td", { class: "status-" + x.status, title: x.error || "" }, x.status), el("td", { class: "num" }, x.duration_ms == null ? "…" : x.duration_ms + " ms"),
      el("td", { class: "num" }, x.exit_code == null ? "…" : String(x.exit_code))));
    const pre = el("pre", {});
    if (x.stdout) pre.append(el("span", { class: "stdout" }, x.stdout));
    if (x.stderr) pre.append(el("span", { class: "stderr" }, x.stderr));
    if (x.error) pre.append(el("span", { class: "stderr" }, "\n" + x.error));
    if (x.output_truncated) pre.append(el("span", { class: "muted" }, "\n[output cut; GET /v1/executions/" + x.trace_id + " has all of it]"));
    rows.push(el("tr", { class: "out" }, el("td", { colspan: 6, class: "out" }, el("details", {}, el("summary", {}, "Output of " + x.trace_id + " (" + human(x.stdout.length + x.stderr.length) + ")"), pre))));
  }
  $("#executions").replaceChildren(...(rows.length ? rows : [emptyRow(6, enabled ? "no executions yet" : "execute is not enabled in this emulator")]));
}
async function loadClock() {
  const c = await admin("/clock");
  const now = new Date(c.now);
  const m = Math.round((now - Date.now()) / 60000);
  $("#clock-now").textContent = utc(c.now).slice(0, 19) + " UTC";
  $("#clock-offset").textContent = (m >= 0 ? "+" : "") + m + " min" + (c.frozen ? " (frozen)" : "");
}
async function advance(by) { await admin("/clock", "POST", { advance: by }); await loadClock(); }
async function loadFaults() {
  let faults = [];
  try { faults = (await admin("/faults")).faults || []; } catch (e) { if (!/not_found/.test(e.message)) throw e; }
  $("#faults").replaceChildren(...(faults.length ? faults.map((f) => el("li", { class: "row", "data-fault": f.id }, el("code", {}, f.id + " " + JSON.stringify(f.match) + " → " + JSON.stringify(f.action) + " hits " + f.hits),
    el("button", { type: "button", class: "danger", "aria-label": "Remove fault " + f.id, onclick: guard(async () => { await admin("/faults/" + encodeURIComponent(f.id), "DELETE"); await loadFaults(); }) }, "Remove"))) : [el("li", { class: "muted" }, "no fault rules")]));
}
async function loadRequests() {
  let route = $("#req-route").value.trim();
  if (route && !route.includes("*")) route += "*";
  let reqs = [];
  try { reqs = (await admin("/requests?" + q({ route, status: $("#req-status").value.trim(), limit: 40 }))).requests || []; } catch (e) { if (!/not_found/.test(e.message)) throw e; }
  reqs.reverse();
  $("#requests").replaceChildren(...(reqs.length ? reqs.map((r) => el("tr", { title: r.url_path || "" }, el("td", {}, (r.time || "").slice(11, 19)), el("td", {}, r.method + " " + (r.route || r.url_path)),
    el("td", { class: "num" }, String(r.status)), el("td", { class: "num" }, String(Math.round(r.duration_ms))))) : [emptyRow(4, "no requests" + (route || $("#req-status").value ? " match" : " yet"))]));
}

function wire() {
  $("#login").addEventListener("submit", guard(async () => { sessionStorage.setItem("lbToken", $("#token").value); $("#login").hidden = true; await start(); }));
  $("#org").addEventListener("change", guard(async () => {
    state.org = $("#org").value; state.space = null; renderOrg();
    $("#space-name").textContent = "— pick a thread or volume"; $("#files").replaceChildren(emptyRow(5, "pick a thread or volume")); $("#files-count").textContent = "";
    await loadExecutions();
  }));
  $("#new-thread").addEventListener("submit", guard(() => openSpace("thread", $("#new-thread-id").value.trim())));
  $("#refresh").addEventListener("click", guard(listFiles));
  let timer = 0;
  $("#prefix").addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(guard(listFiles), 150); });
  $("#upload-input").addEventListener("change", guard(async (ev) => { const fs = [...ev.target.files]; ev.target.value = ""; await uploadAll(fs); }));
  const drop = $("#drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", guard(async (e) => { drop.classList.remove("over"); await uploadAll([...e.dataTransfer.files]); }));
  drop.addEventListener("keydown", (e) => { if (e.target === drop && (e.key === "Enter" || e.key === " ")) { e.preventDefault(); $("#upload-input").click(); } });
  $("#run").addEventListener("submit", guard(run));
  $("#run-code").addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); $("#run").requestSubmit(); } });
  $("#exec-refresh").addEventListener("click", guard(loadExecutions));
  for (const b of document.querySelectorAll("[data-advance]")) b.addEventListener("click", guard(() => advance(b.dataset.advance)));
  $("#clock-custom").addEventListener("submit", guard(() => advance($("#clock-by").value.trim())));
  $("#clock-reset").addEventListener("click", guard(async () => { await admin("/clock", "POST", { reset: true }); await loadClock(); }));
  $("#new-volume").addEventListener("submit", guard(async () => { await admin("/volumes", "POST", { org: state.org, slug: $("#new-volume-slug").value.trim(), read_only: $("#new-volume-ro").checked }); $("#new-volume-slug").value = ""; await loadOrgs(); }));
  $("#new-key").addEventListener("click", guard(async () => { const k = await admin("/keys", "POST", { org: state.org }); $("#new-key-out").textContent = "created " + (k.key || "a key"); await loadOrgs(); }));
  $("#new-fault").addEventListener("submit", guard(async () => {
    let rule;
    try { rule = JSON.parse($("#fault-json").value); } catch (e) { throw new Error("the rule is not JSON: " + e.message); }
    await admin("/faults", "POST", rule); await loadFaults();
  }));
  $("#faults-clear").addEventListener("click", guard(async () => { await admin("/faults", "DELETE"); await loadFaults(); }));
  for (const id of ["#req-route", "#req-status"]) $(id).addEventListener("input", () => loadRequests().catch((e) => showError(e.message)));
  setInterval(() => { if ($("#req-live").checked && $("#login").hidden) { loadRequests().catch(() => {}); loadFaults().catch(() => {}); } }, 2000);
  setInterval(() => { if ($("#login").hidden) { loadClock().catch(() => {}); loadExecutions().catch(() => {}); } }, 5000);
}
async function start() {
  const info = await admin("/info");
  $("#info").textContent = "backend " + info.backend + (info.version ? " · " + info.version : "") + (info.isolation ? " · sandbox " + (info.isolation.mode || info.isolation) : "");
  await loadOrgs();
  await Promise.all([loadClock(), loadFaults(), loadRequests(), loadExecutions()]);
}
wire();
start().catch((e) => showError(e.message));
