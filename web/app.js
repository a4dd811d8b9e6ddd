// The herald dashboard: live sessions, a session's build progress with its
// share modal, the work-item board, and the operator page. Plain ES modules,
// no build step; everything live comes through herald.js.
import { Herald, write } from "/client/herald.js";
import { lineChart } from "/ui/chart.js";

const main = document.getElementById("main");
const badge = document.getElementById("badge");
let token = localStorage.getItem("herald.token") || "";
let me = null;
let herald = null;
let leaveView = () => {};

// ---------------------------------------------------------------- helpers

/** Builds an element: h("div", {class: "x", onclick}, "text", child…). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    // Through the CSSOM: the page's CSP refuses inline style attributes.
    else if (k === "style") el.style.cssText = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : String(c));
  return el;
}

function toast(text, kind = "") {
  const el = h("div", { class: `toast ${kind}`, role: "status" }, text);
  document.getElementById("toasts").append(el);
  setTimeout(() => el.remove(), 6000);
}

async function api(method, path, body) {
  // Writes carry an Idempotency-Key and are retried after a dropped
  // connection or a 503: done once, whatever the network did.
  const resp = method === "GET"
    ? await fetch(path, { headers: token ? { Authorization: `Bearer ${token}` } : {} })
    : await write(method, path, body, { token });
  const data = resp.status === 204 ? null : await resp.json().catch(() => null);
  if (!resp.ok) {
    const err = new Error((data && data.error && data.error.message) || resp.statusText);
    err.status = resp.status;
    throw err;
  }
  return data;
}

const when = (d) => (d instanceof Date ? d : new Date(d)).toLocaleTimeString();
const tokens = (s) => `${(s.tokens_total || 0).toLocaleString()} tokens`;

// ------------------------------------------------------- connection badge

const LIVE_WORDS = { open: "Live", connecting: "Connecting", reconnecting: "Connecting", offline: "Offline", error: "Offline" };

function showState(state) {
  badge.className = `badge ${state}`;
  badge.hidden = state === "open";
  badge.replaceChildren(
    { connecting: "Connecting…", reconnecting: "Reconnecting…", offline: "Offline", error: "Connection error" }[state] || "",
    state === "error" || state === "offline" ? h("button", { onclick: () => herald.retry() }, "Retry") : null,
  );
  badge.dataset.state = state;
  for (const el of document.querySelectorAll("[data-live]")) {
    el.className = `live ${LIVE_WORDS[state]}`;
    el.textContent = LIVE_WORDS[state];
  }
}

function connect() {
  const url = new URL("/ws", location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  // Gives up after about five minutes of failed attempts: the badge says Offline, with Retry.
  herald = new Herald({ url: url.toString(), token: token || undefined, maxAttempts: 12 });
  let lastClose = 0;
  herald.on("close", ({ code }) => { lastClose = code; });
  herald.on("state", (state) => {
    showState(state);
    // 4001, or an upgrade refused with 401: the token stopped being valid.
    if (state === "error" && lastClose !== 4003 && token) {
      localStorage.removeItem("herald.token");
      toast("Your token is no longer valid; sign in again.", "error");
      setTimeout(() => location.reload(), 1500);
    }
  });
  showState(herald.state);
}

// ---------------------------------------------------------------- sign-in

async function signIn() {
  try {
    me = await api("GET", "/api/me");
    document.getElementById("who").textContent = me.email || me.name || "";
    return true;
  } catch (err) {
    if (err.status !== 401) throw err;
  }
  const input = h("input", { type: "password", name: "token", placeholder: "token", autocomplete: "off" });
  const form = h("form", { class: "card", onsubmit: (e) => {
    e.preventDefault();
    token = input.value.trim();
    localStorage.setItem("herald.token", token);
    location.reload();
  } }, h("h1", {}, "Sign in"), h("p", { class: "muted" }, "Paste the token herald gave you."), h("div", { class: "row" }, input, h("button", { class: "primary" }, "Sign in")));
  main.replaceChildren(form);
  return false;
}

// ------------------------------------------------------------- sessions

function sessionsView() {
  const projects = new Map(); // id -> {project, sessions: Map}
  const body = h("div", { id: "projects" });
  main.replaceChildren(h("h1", {}, "Sessions"), body);
  const render = () => {
    body.replaceChildren(...[...projects.values()].map(({ project, sessions }) => h("section", { class: "card", dataset: { project: project.id } },
      h("h2", {}, project.name),
      sessions.size === 0 ? h("p", { class: "muted" }, "No sessions yet.") : h("table", {},
        h("tr", {}, h("th", {}, "Session"), h("th", {}, "Status"), h("th", {}, "Tokens"), h("th", {}, "Agent"), h("th", {}, "Updated")),
        [...sessions.values()].sort((a, b) => b.updated_at - a.updated_at).map((s) => h("tr", { class: s.needs_attention ? "attention" : "", dataset: { session: s.id } },
          h("td", {}, h("a", { href: `#/sessions/${encodeURIComponent(s.id)}` }, s.title), s.needs_attention ? h("span", { class: "muted" }, " · needs attention") : null),
          h("td", {}, h("span", { class: `pill ${s.status}` }, s.status)),
          h("td", {}, tokens(s)),
          h("td", { class: "muted" }, s.agent_id || "—"),
          h("td", { class: "muted" }, when(s.updated_at))))))));
  };
  const unsubscribes = [];
  let left = false;
  // Projects have no room of their own: new ones are picked up every few seconds.
  const load = () => api("GET", "/api/projects").then((list) => {
    if (left) return;
    for (const project of list) {
      if (projects.has(project.id)) continue;
      projects.set(project.id, { project, sessions: new Map() });
      unsubscribes.push(herald.subscribe(`project:${project.id}`, {
        snapshot: (snap) => {
          if (!snap) return;
          const entry = projects.get(project.id);
          entry.project = snap.project;
          entry.sessions = new Map(snap.sessions.map((s) => [s.id, s]));
          render();
        },
        event: (e) => {
          const entry = projects.get(project.id);
          if (["session_created", "session_updated"].includes(e.event_type)) entry.sessions.set(e.payload.id, e.payload);
          else if (e.event_type === "status_changed" && entry.sessions.has(e.payload.session_id)) entry.sessions.get(e.payload.session_id).status = e.payload.new_status;
          else if (e.event_type === "session_deleted") entry.sessions.delete(e.payload.id);
          else if (e.event_type === "project_updated") entry.project = e.payload;
          render();
        },
      }));
    }
    render();
  }).catch((err) => toast(err.message, "error"));
  load();
  const timer = setInterval(load, 5000);
  return () => {
    left = true;
    clearInterval(timer);
    unsubscribes.forEach((u) => u());
  };
}

// -------------------------------------------------------------- session

function sessionView(id) {
  const room = `session:${id}`;
  const state = { session: null, todos: [], tools: new Map(), messages: new Map(), collaborators: new Map(), usage: new Map() };
  const header = h("div", { class: "card", id: "session-header" });
  const progress = h("div", { class: "card", id: "progress" });
  const tools = h("div", { class: "card", id: "tools" });
  const messages = h("div", { class: "card", id: "messages" });
  const tokenChart = lineChart({ id: "tokens", title: "Tokens used", legend: true });
  const usage = h("div", { class: "card", id: "usage" }, h("h2", {}, "Token usage"), tokenChart.el);
  let modal = null;
  main.replaceChildren(header, h("div", { class: "grid" }, progress, tools), usage, messages);

  const render = () => {
    const s = state.session;
    if (!s) {
      header.replaceChildren(h("h1", {}, id), h("p", { class: "muted" }, "Waiting for this session…"));
      return;
    }
    header.replaceChildren(
      h("div", { class: "row" }, h("h1", { style: "flex:1" }, s.title), h("button", { id: "share", onclick: openShare }, "Share")),
      h("div", { class: "row muted", id: "meta" },
        h("span", { class: `pill ${s.status}` }, s.status),
        h("span", { dataset: { field: "agent" } }, `agent ${s.agent_id || "—"}`),
        h("span", { dataset: { field: "model" } }, `model ${s.model_id || "—"}`),
        h("span", { dataset: { field: "project" } }, `project ${s.project_name}`),
        h("span", {}, tokens(s)),
        h("span", {}, s.visibility)),
      s.needs_attention ? h("p", { class: "pill idle" }, "Needs attention") : "");
    const done = state.todos.filter((t) => t.status === "completed").length;
    const pct = state.todos.length ? Math.round((100 * done) / state.todos.length) : 0;
    progress.replaceChildren(h("h2", {}, "Build progress"),
      h("div", { class: "progress", role: "progressbar", "aria-valuenow": pct, "aria-valuemin": 0, "aria-valuemax": 100 }, h("div", { style: `width:${pct}%` })),
      h("p", { class: "muted", id: "progress-text" }, `${done} of ${state.todos.length} done (${pct} %)`),
      h("ul", { class: "todos" }, state.todos.map((t) => h("li", { class: t.status, dataset: { todo: t.content } }, t.status === "in_progress" && t.active_form ? t.active_form : t.content))));
    const summary = (c) => (c.input && typeof c.input === "object" && (c.input.command || c.input.file_path || c.input.pattern)) || "";
    tools.replaceChildren(h("h2", {}, `Tool calls (${state.tools.size})`), h("ul", {}, [...state.tools.values()].map((c) => h("li", { dataset: { tool: c.tool_call_id } },
      h("strong", {}, c.tool_name), " ", h("code", {}, summary(c)), h("span", { class: "muted" }, c.state === "output-available" ? " ✓" : " …")))));
    renderUsage();
    const list = [...state.messages.values()].sort((a, b) => a.id - b.id);
    messages.replaceChildren(h("h2", {}, `Messages (${list.length})`), h("ol", { class: "messages", id: "message-list" }, list.map((m) => h("li", { dataset: { message: m.id } }, h("span", { class: "role" }, m.role), m.content))));
    if (modal) renderShare();
  };

  // Running totals after each usage report, from zero at the session's start.
  const renderUsage = () => {
    const rows = [...state.usage.values()].sort((a, b) => a.id - b.id);
    const start = state.session ? [{ t: state.session.created_at, input: 0, output: 0 }] : [];
    let input = 0;
    let output = 0;
    const steps = start.concat(rows.map((r) => ({ t: r.created_at, input: (input += r.input_tokens), output: (output += r.output_tokens) })));
    const line = (name, v) => ({ name, points: steps.map((p) => ({ t: p.t, v: v(p) })) });
    tokenChart.update([line("total", (p) => p.input + p.output), line("input", (p) => p.input), line("output", (p) => p.output)]);
  };

  const apply = (e) => {
    const p = e.payload;
    switch (e.event_type) {
      case "session_created": case "session_updated": state.session = p; break;
      case "status_changed": if (state.session) state.session.status = p.new_status; break;
      case "visibility_changed": if (state.session) state.session.visibility = p.visibility; break;
      case "todos_updated": state.todos = p.todos; break;
      case "tool_call_created": case "tool_call_updated": state.tools.set(p.tool_call_id, p); break;
      case "message_created": state.messages.set(p.id, p); break;
      case "token_usage": state.usage.set(p.id, p); break;
      case "collaborator_added": state.collaborators.set(p.id, { ...p }); break;
      case "collaborator_updated": if (state.collaborators.has(p.id)) Object.assign(state.collaborators.get(p.id), p); break;
      case "collaborator_removed": state.collaborators.delete(p.id); break;
      case "session_deleted": toast("This session was deleted."); location.hash = "#/"; return;
      default:
    }
    render();
  };

  // Messages older than the snapshot's 50 come from the REST list; ids dedupe.
  const backfill = () => api("GET", `/api/sessions/${encodeURIComponent(id)}/messages?limit=1000`).then((list) => {
    for (const m of list) if (!state.messages.has(m.id)) state.messages.set(m.id, m);
    render();
  }).catch(() => {});
  // Usage reports are not in the snapshot: read them page by page (live
  // `token_usage` events add the rest; ids dedupe).
  const USAGE_PAGE = 1000;
  const loadUsage = async () => {
    let after = 0;
    for (let page = 0; page < 20; page++) {
      const rows = await api("GET", `/api/sessions/${encodeURIComponent(id)}/token-usage?after=${after}&limit=${USAGE_PAGE}`);
      for (const r of rows) state.usage.set(r.id, { ...r, created_at: new Date(r.created_at) });
      if (rows.length < USAGE_PAGE) break;
      after = rows.at(-1).id;
    }
    render();
  };

  const leave = herald.subscribe(room, {
    snapshot: (snap) => {
      if (!snap) return render();
      state.session = snap.session;
      state.todos = snap.todos;
      state.tools = new Map(snap.tool_calls.map((c) => [c.tool_call_id, c]));
      state.messages = new Map(snap.messages.map((m) => [m.id, m]));
      state.collaborators = new Map(snap.collaborators.map((c) => [c.id, c]));
      render();
      backfill();
      loadUsage().catch(() => {});
    },
    event: apply,
    revoked: () => {
      toast("Your access to this session has been revoked.", "error");
      location.hash = "#/";
    },
    error: (f) => {
      toast(f.code === "forbidden" ? "You do not have access to this session." : f.message, "error");
      location.hash = "#/";
    },
  });
  render();

  // ------------------------------------------------------ share modal
  // Built once when opened; live changes update its list and toggle only, so
  // what someone is typing in the form is never wiped.
  let shareParts = null;
  function openShare() {
    const email = h("input", { type: "email", name: "email", placeholder: "email", required: true });
    const role = h("select", { name: "role" }, ["viewer", "editor", "owner"].map((r) => h("option", { value: r }, r)));
    const visibility = h("input", { type: "checkbox", id: "public",
      onchange: (e) => act(api("PATCH", `/api/sessions/${encodeURIComponent(id)}`, { visibility: e.target.checked ? "public" : "private" })) });
    const list = h("table", { id: "collaborators" });
    const form = h("form", { class: "row", id: "invite", onsubmit: (e) => {
      e.preventDefault();
      act(api("POST", collaborators, { email: email.value, role: role.value }).then(() => { email.value = ""; }));
    } }, email, role, h("button", { class: "primary" }, "Add"));
    modal = h("div", { class: "modal", id: "share-modal", onclick: (e) => { if (e.target === modal) closeShare(); } },
      h("div", { class: "card" },
        h("div", { class: "row" }, h("h2", { style: "flex:1" }, "Share"), h("span", { class: "live", dataset: { live: "" } }), h("button", { onclick: closeShare }, "Close")),
        h("label", { class: "row" }, visibility, "Anyone signed in can view"),
        list, form));
    shareParts = { visibility, list };
    document.body.append(modal);
    renderShare();
    showState(herald.state);
  }
  function closeShare() {
    if (modal) modal.remove();
    modal = null;
    shareParts = null;
  }
  const collaborators = `/api/sessions/${encodeURIComponent(id)}/collaborators`;
  const act = (p) => p.catch((err) => toast(err.message, "error"));
  function renderShare() {
    const s = state.session;
    shareParts.visibility.checked = Boolean(s && s.visibility === "public");
    shareParts.list.replaceChildren(...[...state.collaborators.values()].map((c) => h("tr", { dataset: { collaborator: c.email } },
      h("td", {}, c.email, h("div", { class: "muted" }, c.status || "")),
      h("td", {}, h("select", { "aria-label": `role of ${c.email}`, onchange: (e) => act(api("PATCH", `${collaborators}/${c.id}`, { role: e.target.value })) },
        ["viewer", "editor", "owner"].map((r) => h("option", { value: r, selected: r === c.role }, r)))),
      h("td", {}, h("button", { "aria-label": `remove ${c.email}`, onclick: () => act(api("DELETE", `${collaborators}/${c.id}`)) }, "Remove")))));
  }

  return () => {
    closeShare();
    leave();
  };
}

// ----------------------------------------------------------------- board

/** The board's columns: a feature goes under its status, or under Other. */
const COLUMNS = [["todo", "To do"], ["in_progress", "In progress"], ["done", "Done"], ["other", "Other"]];

/** The column of a status: `todo`, `in_progress` (also "in progress", "in-progress"), `done`, else `other`. */
function columnOf(status) {
  const key = String(status || "").trim().toLowerCase().replace(/[\s-]+/g, "_");
  return COLUMNS.some(([k]) => k === key && k !== "other") ? key : "other";
}

function boardView() {
  const items = { features: new Map(), tracks: new Map(), spikes: new Map() };
  const trail = h("ol", { id: "trail", class: "muted" });
  const board = h("div", { class: "board", id: "board" });
  const notes = h("div", { class: "columns", id: "notes" });
  main.replaceChildren(h("h1", {}, "Work items"), h("h2", {}, "Features"), board, notes, h("h2", {}, "Audit trail"), trail);
  const card = (f) => h("article", { class: "card feature", dataset: { item: f.id } },
    h("div", { class: "row" }, h("strong", { class: "title" }, f.title || f.id),
      h("span", { class: `pill ${columnOf(f.status)}`, dataset: { status: f.status || "" } }, f.status || "no status"),
      f.priority ? h("span", { class: "pill priority" }, f.priority) : null),
    f.description ? h("p", { class: "muted description" }, f.description) : null,
    f.tags && f.tags.length ? h("div", { class: "tags" }, f.tags.map((t) => h("span", { class: "tag" }, t))) : null,
    f.links && f.links.length ? h("div", { class: "muted" }, `links: ${f.links.map((l) => `${l.link_type} ${l.linked_feature_id}`).join(", ")}`) : null,
    f.comments && f.comments.length ? h("div", { class: "muted" }, `${f.comments.length} comment(s), last: ${f.comments[f.comments.length - 1].comment_text}`) : null);
  const render = () => {
    const recent = (a, b) => (+new Date(b.updated_at || 0)) - (+new Date(a.updated_at || 0)) || String(a.id).localeCompare(String(b.id));
    board.replaceChildren(...COLUMNS.map(([key, label]) => {
      const cards = [...items.features.values()].filter((f) => columnOf(f.status) === key).sort(recent);
      return h("section", { class: "column", dataset: { column: key }, "aria-label": label },
        h("h3", {}, label, h("span", { class: "count" }, cards.length)),
        cards.length ? cards.map(card) : h("p", { class: "muted empty" }, "Nothing here."));
    }));
    const column = (title, map, line) => h("section", { class: "card" }, h("h2", {}, title),
      map.size === 0 ? h("p", { class: "muted" }, "None yet.") : [...map.values()].map((it) => h("div", { class: "card note", dataset: { item: it.id } }, line(it))));
    notes.replaceChildren(
      column("Tracks", items.tracks, (t) => [h("strong", {}, t.title), h("div", { class: "muted" }, t.description)]),
      column("Spikes", items.spikes, (sp) => [h("strong", {}, sp.title), h("div", { class: "muted" }, sp.findings)]));
  };
  let asked = 0;
  const loadTrail = () => {
    const ask = ++asked;
    return api("GET", "/api/broadcast/events?limit=20").then((rows) => {
      if (ask !== asked) return; // a newer answer is on its way
      trail.replaceChildren(...rows.map((r) => h("li", {}, `${when(r.timestamp)} ${r.event_type} ${r.resource_id}${r.agent_id ? ` by ${r.agent_id}` : ""}`)));
    }).catch(() => {});
  };
  const feature = (id) => items.features.get(id) || { id, title: id, status: "", links: [], comments: [] };
  const leave = herald.subscribe("broadcasts", {
    snapshot: (snap) => {
      items.features = new Map(snap.features.map((f) => [f.id, f]));
      items.tracks = new Map(snap.tracks.map((t) => [t.id, t]));
      items.spikes = new Map(snap.spikes.map((s) => [s.id, s]));
      render();
      loadTrail();
    },
    event: (e) => {
      const p = e.payload;
      switch (e.event_type) {
        case "feature_created": case "feature_updated": items.features.set(p.id, { ...feature(p.id), ...p }); break;
        case "status_changed": if (p.feature_id) items.features.set(p.feature_id, { ...feature(p.feature_id), status: p.new_status, updated_at: e.ts }); break;
        case "link_added": { const f = feature(p.feature_id); f.links = [...(f.links || []), p]; items.features.set(f.id, f); break; }
        case "comment_added": { const f = feature(p.feature_id); f.comments = [...(f.comments || []), p]; items.features.set(f.id, f); break; }
        case "feature_deleted": items.features.delete(p.feature_id); break;
        case "track_updated": items.tracks.set(p.id, p); break;
        case "spike_updated": items.spikes.set(p.id, p); break;
        default:
      }
      render();
      loadTrail();
    },
  });
  render();
  return leave;
}

// -------------------------------------------------------------- operator

/** How much of the server's history the operator charts show. */
const OPS_WINDOW_MS = 10 * 60_000;
/** Rooms listed under "Biggest rooms". */
const BIGGEST_ROOMS = 10;

function opsView() {
  const cards = h("div", { class: "grid stats" });
  const charts = {
    connections: lineChart({ id: "connections", title: "Connections", window: OPS_WINDOW_MS }),
    events: lineChart({ id: "events", title: "Events per second", window: OPS_WINDOW_MS }),
    frames: lineChart({ id: "frames", title: "Frames per second", window: OPS_WINDOW_MS }),
  };
  const rooms = h("table", { id: "rooms" });
  const failed = h("p", { class: "muted", id: "ops-error" });
  const apiDoc = h("p", { class: "muted" }, "HTTP API: ",
    h("a", { id: "openapi-link", href: "/api/openapi.json" }, "OpenAPI 3.1 document"));
  main.replaceChildren(h("h1", {}, "Operator"), apiDoc, failed, cards,
    h("h2", {}, "Recent minutes"), h("div", { class: "grid charts", id: "charts" }, Object.values(charts).map((c) => h("div", { class: "card" }, c.el))),
    h("h2", {}, "Biggest rooms"), rooms);
  // The server samples its counters every second and keeps ten minutes of
  // them: the page reads them all once, then only the newer ones.
  let samples = [];
  const history = () => {
    const after = samples.length ? `?after=${+samples.at(-1).t}` : "";
    return api("GET", `/api/stats/history${after}`).then((body) => {
      samples = samples.concat(body.samples.map((x) => ({ ...x, t: new Date(x.t) })));
      const since = +samples.at(-1)?.t - OPS_WINDOW_MS;
      samples = samples.filter((x) => +x.t >= since);
      const series = (name, key) => [{ name, points: samples.map((x) => ({ t: x.t, v: x[key] })) }];
      charts.connections.update(series("connections", "connections"));
      charts.events.update(series("events/s", "events_per_s"));
      charts.frames.update(series("frames/s", "frames_per_s"));
    });
  };
  const stats = () => api("GET", "/api/stats").then((s) => {
    const rate = samples.length ? samples.at(-1).events_per_s : null;
    cards.replaceChildren(
      h("div", { class: "card" }, h("div", { class: "muted" }, "Connections"), h("strong", { id: "stat-connections" }, s.connections)),
      h("div", { class: "card" }, h("div", { class: "muted" }, "Events per second"), h("strong", { id: "stat-rate" }, rate === null ? "—" : rate.toFixed(1))),
      h("div", { class: "card" }, h("div", { class: "muted" }, "Events stored"), h("strong", {}, s.events_total.toLocaleString())),
      h("div", { class: "card" }, h("div", { class: "muted" }, "Uptime"), h("strong", {}, `${s.uptime_s} s`)));
    const biggest = [...s.rooms].sort((x, y) => y.connections - x.connections || x.room.localeCompare(y.room)).slice(0, BIGGEST_ROOMS);
    const most = biggest.length ? biggest[0].connections : 1;
    rooms.replaceChildren(h("tr", {}, h("th", {}, "Room"), h("th", {}, "Connections"), h("th", { class: "bar-cell" }, "")),
      ...(biggest.length ? biggest : [null]).map((r) => r === null
        ? h("tr", {}, h("td", { class: "muted", colspan: 3 }, "No room has a subscriber."))
        : h("tr", { dataset: { room: r.room } }, h("td", {}, r.room), h("td", {}, r.connections),
        h("td", { class: "bar-cell" }, h("div", { class: "bar", style: `width:${Math.max(2, (100 * r.connections) / most)}%` })))));
    if (s.rooms.length > BIGGEST_ROOMS) rooms.append(h("tr", {}, h("td", { class: "muted", colspan: 3 }, `and ${s.rooms.length - BIGGEST_ROOMS} more`)));
  });
  const tick = () => history().then(stats).then(() => { failed.textContent = ""; })
    .catch((err) => { failed.textContent = err.message; });
  tick();
  const timer = setInterval(tick, 1000);
  return () => clearInterval(timer);
}

// ---------------------------------------------------------------- router

function route() {
  leaveView();
  const hash = location.hash || "#/";
  const session = hash.match(/^#\/sessions\/(.+)$/);
  if (session) leaveView = sessionView(decodeURIComponent(session[1]));
  else if (hash === "#/board") leaveView = boardView();
  else if (hash === "#/ops") leaveView = opsView();
  else leaveView = sessionsView();
}

if (await signIn()) {
  connect();
  window.addEventListener("hashchange", route);
  route();
}
