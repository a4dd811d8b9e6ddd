// The herald dashboard: live sessions, a session's build progress with its
// share modal, the work-item board, and the operator page. Plain ES modules,
// no build step; everything live comes through herald.js. This file signs
// in, connects, lists the sessions and routes; each other view has its own
// module, and `ui.js` holds what they share.
import { Herald } from "/client/herald.js";
import { boardView } from "/ui/board.js";
import { opsView } from "/ui/ops.js";
import { sessionView } from "/ui/session.js";
import { api, h, page, showState, toast, tokens, when } from "/ui/ui.js";

let leaveView = () => {};

/** Connects the live client; the badge follows its state. */
function connect() {
  const url = new URL("/ws", location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  // Gives up after about five minutes of failed attempts: the badge says Offline, with Retry.
  page.herald = new Herald({ url: url.toString(), token: page.token || undefined, maxAttempts: 12 });
  let lastClose = 0;
  page.herald.on("close", ({ code }) => { lastClose = code; });
  page.herald.on("state", (state) => {
    showState(state);
    // 4001, or an upgrade refused with 401: the token stopped being valid.
    if (state === "error" && lastClose !== 4003 && page.token) {
      localStorage.removeItem("herald.token");
      toast("Your token is no longer valid; sign in again.", "error");
      setTimeout(() => location.reload(), 1500);
    }
  });
  showState(page.herald.state);
}

/** Shows who is signed in, or the sign-in form (false). */
async function signIn() {
  try {
    page.me = await api("GET", "/api/me");
    document.getElementById("who").textContent = page.me.email || page.me.name || "";
    return true;
  } catch (err) {
    if (err.status !== 401) throw err;
  }
  const input = h("input", { type: "password", name: "token", placeholder: "token", autocomplete: "off" });
  const form = h("form", { class: "card", onsubmit: (e) => {
    e.preventDefault();
    page.token = input.value.trim();
    localStorage.setItem("herald.token", page.token);
    location.reload();
  } }, h("h1", {}, "Sign in"), h("p", { class: "muted" }, "Paste the token herald gave you."), h("div", { class: "row" }, input, h("button", { class: "primary" }, "Sign in")));
  page.main.replaceChildren(form);
  return false;
}

/** The sessions of every project, live through the projects' rooms. */
function sessionsView() {
  const projects = new Map(); // id -> {project, sessions: Map}
  const body = h("div", { id: "projects" });
  page.main.replaceChildren(h("h1", {}, "Sessions"), body);
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
      unsubscribes.push(page.herald.subscribe(`project:${project.id}`, {
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

/** Shows the view the location hash names. */
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
