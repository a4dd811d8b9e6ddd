// One session: header, build progress, tool calls, token usage, messages,
// and the share modal. Live through the session's room; the REST lists fill
// in what the snapshot leaves out.
import { lineChart } from "/ui/chart.js";
import { api, h, page, showState, toast, tokens } from "/ui/ui.js";

/** Roles a collaborator can be given. */
const ROLES = ["viewer", "editor", "owner"];
/** Rows per page when reading a session's usage reports. */
const USAGE_PAGE = 1000;

/** Shows session `id`; returns the function that leaves the view. */
export function sessionView(id) {
  const state = { session: null, todos: [], tools: new Map(), messages: new Map(), collaborators: new Map(), usage: new Map() };
  const parts = {
    header: h("div", { class: "card", id: "session-header" }),
    progress: h("div", { class: "card", id: "progress" }),
    tools: h("div", { class: "card", id: "tools" }),
    messages: h("div", { class: "card", id: "messages" }),
    chart: lineChart({ id: "tokens", title: "Tokens used", legend: true }),
  };
  const usage = h("div", { class: "card", id: "usage" }, h("h2", {}, "Token usage"), parts.chart.el);
  page.main.replaceChildren(parts.header, h("div", { class: "grid" }, parts.progress, parts.tools), usage, parts.messages);
  const share = shareModal(id, state);
  const render = () => {
    renderSession(id, state, parts, share.open);
    share.render();
  };
  const leave = page.herald.subscribe(`session:${id}`, {
    snapshot: (snap) => {
      if (!snap) return render();
      state.session = snap.session;
      state.todos = snap.todos;
      state.tools = new Map(snap.tool_calls.map((c) => [c.tool_call_id, c]));
      state.messages = new Map(snap.messages.map((m) => [m.id, m]));
      state.collaborators = new Map(snap.collaborators.map((c) => [c.id, c]));
      render();
      backfill(id, state).then(render).catch(() => {});
      loadUsage(id, state).then(render).catch(() => {});
    },
    event: (e) => {
      if (apply(state, e)) render();
    },
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
  return () => {
    share.close();
    leave();
  };
}

/** Applies one live event to `state`; false when the view is gone. */
function apply(state, e) {
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
    case "session_deleted": toast("This session was deleted."); location.hash = "#/"; return false;
    default:
  }
  return true;
}

/** Messages older than the snapshot's 50 come from the REST list; ids dedupe. */
async function backfill(id, state) {
  const list = await api("GET", `/api/sessions/${encodeURIComponent(id)}/messages?limit=1000`);
  for (const m of list) if (!state.messages.has(m.id)) state.messages.set(m.id, m);
}

/** Usage reports are not in the snapshot: read them page by page (live
 * `token_usage` events add the rest; ids dedupe). */
async function loadUsage(id, state) {
  let after = 0;
  for (let page = 0; page < 20; page++) {
    const rows = await api("GET", `/api/sessions/${encodeURIComponent(id)}/token-usage?after=${after}&limit=${USAGE_PAGE}`);
    for (const r of rows) state.usage.set(r.id, { ...r, created_at: new Date(r.created_at) });
    if (rows.length < USAGE_PAGE) break;
    after = rows.at(-1).id;
  }
}

/** Renders every part of the view from `state`. */
function renderSession(id, state, parts, openShare) {
  const s = state.session;
  if (!s) {
    parts.header.replaceChildren(h("h1", {}, id), h("p", { class: "muted" }, "Waiting for this session…"));
    return;
  }
  parts.header.replaceChildren(
    h("div", { class: "row" }, h("h1", { style: "flex:1" }, s.title), h("button", { id: "share", onclick: openShare }, "Share")),
    h("div", { class: "row muted", id: "meta" },
      h("span", { class: `pill ${s.status}` }, s.status),
      h("span", { dataset: { field: "agent" } }, `agent ${s.agent_id || "—"}`),
      h("span", { dataset: { field: "model" } }, `model ${s.model_id || "—"}`),
      h("span", { dataset: { field: "project" } }, `project ${s.project_name}`),
      h("span", {}, tokens(s)),
      h("span", {}, s.visibility)),
    s.needs_attention ? h("p", { class: "pill idle" }, "Needs attention") : "");
  renderProgress(state.todos, parts.progress);
  const summary = (c) => (c.input && typeof c.input === "object" && (c.input.command || c.input.file_path || c.input.pattern)) || "";
  parts.tools.replaceChildren(h("h2", {}, `Tool calls (${state.tools.size})`), h("ul", {}, [...state.tools.values()].map((c) => h("li", { dataset: { tool: c.tool_call_id } },
    h("strong", {}, c.tool_name), " ", h("code", {}, summary(c)), h("span", { class: "muted" }, c.state === "output-available" ? " ✓" : " …")))));
  renderUsage(state, parts.chart);
  const list = [...state.messages.values()].sort((a, b) => a.id - b.id);
  parts.messages.replaceChildren(h("h2", {}, `Messages (${list.length})`), h("ol", { class: "messages", id: "message-list" }, list.map((m) => h("li", { dataset: { message: m.id } }, h("span", { class: "role" }, m.role), m.content))));
}

/** The todo list and how much of it is done. */
function renderProgress(todos, el) {
  const done = todos.filter((t) => t.status === "completed").length;
  const pct = todos.length ? Math.round((100 * done) / todos.length) : 0;
  el.replaceChildren(h("h2", {}, "Build progress"),
    h("div", { class: "progress", role: "progressbar", "aria-valuenow": pct, "aria-valuemin": 0, "aria-valuemax": 100 }, h("div", { style: `width:${pct}%` })),
    h("p", { class: "muted", id: "progress-text" }, `${done} of ${todos.length} done (${pct} %)`),
    h("ul", { class: "todos" }, todos.map((t) => h("li", { class: t.status, dataset: { todo: t.content } }, t.status === "in_progress" && t.active_form ? t.active_form : t.content))));
}

/** Running totals after each usage report, from zero at the session's start. */
function renderUsage(state, chart) {
  const rows = [...state.usage.values()].sort((a, b) => a.id - b.id);
  const start = state.session ? [{ t: state.session.created_at, input: 0, output: 0 }] : [];
  let input = 0;
  let output = 0;
  const steps = start.concat(rows.map((r) => ({ t: r.created_at, input: (input += r.input_tokens), output: (output += r.output_tokens) })));
  const line = (name, v) => ({ name, points: steps.map((p) => ({ t: p.t, v: v(p) })) });
  chart.update([line("total", (p) => p.input + p.output), line("input", (p) => p.input), line("output", (p) => p.output)]);
}

/** The share modal: visibility, collaborators, invitations. Built once when
 * opened; live changes update its list and toggle only, so what someone is
 * typing in the form is never wiped. */
function shareModal(id, state) {
  const collaborators = `/api/sessions/${encodeURIComponent(id)}/collaborators`;
  const act = (p) => p.catch((err) => toast(err.message, "error"));
  let modal = null;
  let parts = null;
  const close = () => {
    if (modal) modal.remove();
    modal = null;
    parts = null;
  };
  const render = () => {
    if (!parts) return;
    const s = state.session;
    parts.visibility.checked = Boolean(s && s.visibility === "public");
    parts.list.replaceChildren(...[...state.collaborators.values()].map((c) => h("tr", { dataset: { collaborator: c.email } },
      h("td", {}, c.email, h("div", { class: "muted" }, c.status || "")),
      h("td", {}, h("select", { "aria-label": `role of ${c.email}`, onchange: (e) => act(api("PATCH", `${collaborators}/${c.id}`, { role: e.target.value })) },
        ROLES.map((r) => h("option", { value: r, selected: r === c.role }, r)))),
      h("td", {}, h("button", { "aria-label": `remove ${c.email}`, onclick: () => act(api("DELETE", `${collaborators}/${c.id}`)) }, "Remove")))));
  };
  const open = () => {
    const email = h("input", { type: "email", name: "email", placeholder: "email", required: true });
    const role = h("select", { name: "role" }, ROLES.map((r) => h("option", { value: r }, r)));
    const visibility = h("input", { type: "checkbox", id: "public",
      onchange: (e) => act(api("PATCH", `/api/sessions/${encodeURIComponent(id)}`, { visibility: e.target.checked ? "public" : "private" })) });
    const list = h("table", { id: "collaborators" });
    const form = h("form", { class: "row", id: "invite", onsubmit: (e) => {
      e.preventDefault();
      act(api("POST", collaborators, { email: email.value, role: role.value }).then(() => { email.value = ""; }));
    } }, email, role, h("button", { class: "primary" }, "Add"));
    modal = h("div", { class: "modal", id: "share-modal", onclick: (e) => { if (e.target === modal) close(); } },
      h("div", { class: "card" },
        h("div", { class: "row" }, h("h2", { style: "flex:1" }, "Share"), h("span", { class: "live", dataset: { live: "" } }), h("button", { onclick: close }, "Close")),
        h("label", { class: "row" }, visibility, "Anyone signed in can view"),
        list, form));
    parts = { visibility, list };
    document.body.append(modal);
    render();
    showState(page.herald.state);
  };
  return { open, close, render };
}
