// The corral dashboard: plain JavaScript over the admin port's /api/ (see dashboard/mod.rs).
// Everything shown comes from the server as text and is put in the page with textContent,
// never as HTML: znode names and data are whatever clients wrote.
"use strict";

const POLL_MS = 1000;
const CHART_POINTS = 60;

const $ = (id) => document.getElementById(id);

// An element with attributes and children (strings become text nodes).
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "onclick") e.addEventListener("click", v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : String(c ?? "—"));
  return e;
}

function fill(tbody, rows) {
  tbody.replaceChildren(...rows);
}

function credentials() {
  return $("auth").value.trim();
}

async function api(path, options) {
  const headers = Object.assign({}, (options && options.headers) || {});
  if (credentials()) headers["X-Corral-Auth"] = credentials();
  const r = await fetch(path, Object.assign({}, options, { headers, cache: "no-store" }));
  const body = await r.json();
  if (!r.ok) {
    const e = new Error(body.message || r.statusText);
    e.name = body.error || "HttpError";
    e.status = r.status;
    throw e;
  }
  return body;
}

function showError(e) {
  $("error").textContent = e ? `${e.name}: ${e.message}` : "";
}

// --- pages ---------------------------------------------------------------------------

const pages = {};
let current = null;

function route() {
  const hash = decodeURIComponent(location.hash.slice(1)) || "ensemble";
  const [page, arg] = hash.includes(":") ? [hash.slice(0, hash.indexOf(":")), hash.slice(hash.indexOf(":") + 1)] : [hash, ""];
  current = pages[page] ? page : "ensemble";
  for (const s of document.querySelectorAll(".page")) s.hidden = s.id !== `page-${current}`;
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("active", a.dataset.page === current);
  pages[current].show(arg);
}

window.addEventListener("hashchange", route);

// --- ensemble ------------------------------------------------------------------------

pages.ensemble = {
  async refresh() {
    const e = await api("/api/ensemble");
    $("member").textContent = `member ${e.myId} · ${e.mode}${e.serving ? "" : " · not serving"}`;
    $("ensemble-summary").textContent =
      `This is member ${e.myId} (${e.mode}). Leader: ${e.leader ?? "none"} · term ${e.term} · ` +
      `log ${e.lastLogIndex}, applied ${e.lastAppliedIndex} · ${e.serving ? "serving" : "NOT serving"}`;
    $("ensemble-summary").dataset.leader = e.leader ?? "";
    fill($("ensemble-members").tBodies[0], e.members.map((m) =>
      el("tr", { "data-id": m.id, "data-role": m.role, class: m.self ? "self" : "" },
        el("td", {}, m.id + (m.self ? " (this)" : "")),
        el("td", { class: `role ${m.role}` }, m.role),
        el("td", {}, m.clientAddress), el("td", {}, m.peerAddress),
        el("td", {}, m.voter ? "yes" : "observer"),
        el("td", {}, m.matchedIndex), el("td", {}, m.lag))));
  },
  show() { this.refresh().catch(showError); },
};

// --- tree ----------------------------------------------------------------------------

// `wanted`: the path the user last asked for. A load that answers for another path (a poll
// started before the user moved on) is dropped, or it would take the page back there.
const tree = { path: "/", wanted: "/", node: null, children: [] };

function childPath(parent, name) {
  return parent === "/" ? `/${name}` : `${parent}/${name}`;
}

function base64Bytes(b64) {
  const s = atob(b64);
  const bytes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
  return bytes;
}

function hexDump(bytes) {
  const lines = [];
  for (let i = 0; i < bytes.length; i += 16) {
    const row = Array.from(bytes.slice(i, i + 16));
    const hex = row.map((b) => b.toString(16).padStart(2, "0")).join(" ");
    const ascii = row.map((b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : ".")).join("");
    lines.push(`${i.toString(16).padStart(8, "0")}  ${hex.padEnd(47)}  ${ascii}`);
  }
  return lines.join("\n");
}

function renderData() {
  const n = tree.node;
  const out = $("node-data");
  if (!n) return;
  if (!n.readable) {
    out.textContent = "(data hidden: the ACL does not let world or your digest read it)";
    return;
  }
  if (n.data === null) {
    out.textContent = "(null)";
    return;
  }
  const bytes = base64Bytes(n.data);
  const text = new TextDecoder().decode(bytes);
  const format = $("data-format").value;
  if (format === "hex") out.textContent = hexDump(bytes);
  else if (format === "json") {
    try {
      out.textContent = JSON.stringify(JSON.parse(text), null, 2);
    } catch (e) {
      out.textContent = `(not JSON: ${e.message})`;
    }
  } else out.textContent = text;
}

function renderNode() {
  const n = tree.node;
  const crumbs = [el("a", { href: "#tree:/" }, "/")];
  let acc = "";
  for (const part of n.path.split("/").filter(Boolean)) {
    acc += `/${part}`;
    crumbs.push(" / ", el("a", { href: `#tree:${encodeURIComponent(acc)}` }, part));
  }
  $("crumbs").replaceChildren(...crumbs);
  $("children-count").textContent = `(${n.numChildren}, ${n.kind})`;
  $("children").replaceChildren(...tree.children.map((c) =>
    el("li", {}, el("a", { href: `#tree:${encodeURIComponent(childPath(n.path, c))}`, "data-child": c }, c))));
  $("children-more").hidden = tree.children.length >= n.numChildren;
  fill($("node-stat").tBodies[0], Object.entries(n.stat).map(([k, v]) =>
    el("tr", { "data-field": k }, el("th", {}, k), el("td", {}, v,
      k.endsWith("time") && v ? el("span", { class: "muted" }, ` ${new Date(v).toISOString()}`) : ""))));
  fill($("node-acl").tBodies[0], n.acl.map((a) =>
    el("tr", {}, el("td", {}, a.scheme), el("td", {}, a.id), el("td", {}, a.perms))));
  renderData();
}

async function loadNode(path, keepForm) {
  const n = await api(`/api/node?path=${encodeURIComponent(path)}`);
  if (path !== tree.wanted) return;
  tree.path = path;
  tree.node = n;
  tree.children = n.children;
  renderNode();
  if (!keepForm) {
    $("edit-data").value = n.readable && n.data !== null ? new TextDecoder().decode(base64Bytes(n.data)) : "";
    $("edit-version").value = n.stat.version;
  }
  showError(null);
}

async function moreChildren() {
  const n = await api(`/api/node?path=${encodeURIComponent(tree.path)}&offset=${tree.children.length}`);
  tree.children = tree.children.concat(n.children);
  renderNode();
}

async function write(body) {
  const result = $("write-result");
  result.className = "";
  result.textContent = "…";
  try {
    const r = await api("/api/write", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(Object.assign({ auth: credentials() || null }, body)),
    });
    result.className = "ok";
    result.textContent = `OK: ${body.op} ${r.path}` + (r.stat ? ` (version ${r.stat.version}, mzxid ${r.stat.mzxid})` : "");
    return r;
  } catch (e) {
    result.className = "failed";
    result.textContent = `${e.name}: ${e.message}`;
    return null;
  }
}

$("edit-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const v = $("edit-version").value.trim();
  const r = await write({ op: "set", path: tree.path, data: $("edit-data").value, version: v === "" ? null : Number(v) });
  if (r) await loadNode(tree.path).catch(showError);
});

$("edit-delete").addEventListener("click", async () => {
  if (!confirm(`Delete ${tree.path}?`)) return;
  const v = $("edit-version").value.trim();
  const parent = tree.path.slice(0, tree.path.lastIndexOf("/")) || "/";
  if (await write({ op: "delete", path: tree.path, version: v === "" ? null : Number(v) })) location.hash = `tree:${parent}`;
});

$("create-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const name = $("create-name").value.trim();
  const r = await write({ op: "create", path: childPath(tree.path, name), data: $("create-data").value,
    acl: $("create-creator").checked ? "creator" : "open" });
  if (r) await loadNode(tree.path, true).catch(showError);
});

$("children-more").addEventListener("click", () => moreChildren().catch(showError));
$("data-format").addEventListener("change", renderData);

pages.tree = {
  show(path) {
    tree.wanted = path || tree.wanted || "/";
    loadNode(tree.wanted).catch(showError);
    $("write-result").textContent = "";
  },
  refresh() { return loadNode(tree.wanted, true); },
};

// --- sessions, watches, election ----------------------------------------------------

pages.sessions = {
  async refresh() {
    const s = await api("/api/sessions");
    fill($("sessions").tBodies[0], s.sessions.map((x) =>
      el("tr", { "data-session": x.id }, el("td", {}, x.id), el("td", {}, x.timeoutMs), el("td", {}, x.client),
        el("td", {}, ...x.ephemerals.flatMap((p, i) => [i ? ", " : "", el("a", { href: `#tree:${encodeURIComponent(p)}` }, p)])))));
  },
  show() { this.refresh().catch(showError); },
};

pages.watches = {
  async refresh() {
    const w = await api("/api/watches");
    $("watches-total").textContent = `(${w.total})`;
    fill($("watches").tBodies[0], w.watches.map((x) =>
      el("tr", {}, el("td", {}, x.path), el("td", {}, x.kind), el("td", {}, x.session), el("td", {}, x.client))));
  },
  show() { this.refresh().catch(showError); },
};

pages.election = {
  async refresh() {
    const path = $("election-path").value.trim();
    if (!path) return;
    const q = await api(`/api/election?path=${encodeURIComponent(path)}`);
    fill($("election").tBodies[0], q.queue.map((x, i) =>
      el("tr", { "data-name": x.name, class: i === 0 ? "first" : "" },
        el("td", {}, i + 1), el("td", {}, x.name), el("td", {}, x.sequence), el("td", {}, x.ephemeralOwner),
        el("td", {}, x.client), el("td", {}, i === 0 ? "leader / holder" : `waits for ${q.queue[i - 1].name}`))));
  },
  show(path) {
    if (path) $("election-path").value = path;
    this.refresh().catch(showError);
  },
};

$("election-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  location.hash = `election:${$("election-path").value.trim()}`;
  pages.election.show();
});

// --- charts --------------------------------------------------------------------------

const samples = []; // {t, throughput, latency, max}
let previous = null;

// The smallest 1, 2 or 5 times a power of ten at or above `v`: the chart's top line.
function niceCeiling(v) {
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  return [1, 2, 5, 10].map((m) => m * p).find((c) => c >= v);
}

function drawChart(canvas, series, colors, unit) {
  const ctx = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height, left = 50, bottom = 20;
  ctx.clearRect(0, 0, w, h);
  const top = niceCeiling(Math.max(0.01, ...series.flatMap((s) => s.map((p) => p.v))));
  ctx.font = "11px sans-serif";
  ctx.strokeStyle = "#ddd";
  ctx.fillStyle = "#666";
  for (let i = 0; i <= 4; i++) {
    const y = (h - bottom) * (1 - i / 4) + 0.5;
    ctx.beginPath(); ctx.moveTo(left, y); ctx.lineTo(w, y); ctx.stroke();
    ctx.fillText(`${+(top * i / 4).toPrecision(3)} ${unit}`, 2, Math.max(10, y - 2));
  }
  ctx.fillText(`last ${CHART_POINTS} s`, left, h - 4);
  series.forEach((s, k) => {
    ctx.strokeStyle = colors[k];
    ctx.lineWidth = 2;
    ctx.beginPath();
    s.forEach((p, i) => {
      const x = left + (w - left) * (CHART_POINTS - s.length + i) / (CHART_POINTS - 1);
      const y = (h - bottom) * (1 - p.v / top);
      if (i) ctx.lineTo(x, y); else ctx.moveTo(x, y);
    });
    ctx.stroke();
  });
}

async function sampleStats() {
  const s = await api("/api/stats");
  if (previous) {
    const dt = Math.max(0.001, (s.timeMs - previous.timeMs) / 1000);
    const dn = s.requestsCompleted - previous.requestsCompleted;
    samples.push({
      throughput: Math.max(0, dn / dt),
      latency: dn > 0 ? (s.latencyTotalUs - previous.latencyTotalUs) / dn : 0,
      max: s.maxLatencyMs,
    });
    if (samples.length > CHART_POINTS) samples.shift();
  }
  previous = s;
  $("stats-line").textContent =
    `${s.mode} · zxid ${s.zxid} · ${s.connections} connections · ${s.sessions} sessions · ${s.znodes} znodes · ` +
    `${s.watches} watches · latency min/avg/max ${s.minLatencyMs}/${s.avgLatencyMs}/${s.maxLatencyMs} ms · ` +
    `${s.requestsCompleted} requests`;
  $("stats-line").dataset.samples = samples.length;
  if (current === "charts") pages.charts.show();
}

pages.charts = {
  show() {
    drawChart($("chart-throughput"), [samples.map((p) => ({ v: p.throughput }))], ["#2563eb"], "req/s");
    drawChart($("chart-latency"), [samples.map((p) => ({ v: p.latency }))], ["#16a34a"], "µs");
    $("latency-max").textContent = samples.length ? samples[samples.length - 1].max : "—";
  },
  refresh() { return Promise.resolve(); },
};

// --- polling -------------------------------------------------------------------------

async function tick() {
  try {
    await sampleStats();
    if (current === "tree") await pages.tree.refresh();
    else if (current !== "charts") await pages[current].refresh();
    // The member line in the header follows the ensemble wherever the user is.
    if (current !== "ensemble") await pages.ensemble.refresh();
    showError(null);
  } catch (e) {
    showError(e);
  } finally {
    setTimeout(tick, POLL_MS);
  }
}

route();
tick();
