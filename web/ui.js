// What every dashboard view shares: the page's state (token, signed-in user,
// the herald client), building elements, toasts, API calls, and the
// connection badge.
import { write } from "/client/herald.js";

/** The page: its main area, the token, who is signed in, the live client. */
export const page = {
  main: document.getElementById("main"),
  badge: document.getElementById("badge"),
  token: localStorage.getItem("herald.token") || "",
  me: null,
  herald: null,
};

/** Builds an element: h("div", {class: "x", onclick}, "text", child…). */
export function h(tag, attrs = {}, ...children) {
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

/** Shows a message for six seconds. */
export function toast(text, kind = "") {
  const el = h("div", { class: `toast ${kind}`, role: "status" }, text);
  document.getElementById("toasts").append(el);
  setTimeout(() => el.remove(), 6000);
}

/** Calls the HTTP API; throws an Error with `status` when the answer is not 2xx. */
export async function api(method, path, body) {
  // Writes carry an Idempotency-Key and are retried after a dropped
  // connection or a 503: done once, whatever the network did.
  const resp = method === "GET"
    ? await fetch(path, { headers: page.token ? { Authorization: `Bearer ${page.token}` } : {} })
    : await write(method, path, body, { token: page.token });
  const data = resp.status === 204 ? null : await resp.json().catch(() => null);
  if (!resp.ok) {
    const err = new Error((data && data.error && data.error.message) || resp.statusText);
    err.status = resp.status;
    throw err;
  }
  return data;
}

export const when = (d) => (d instanceof Date ? d : new Date(d)).toLocaleTimeString();
export const tokens = (s) => `${(s.tokens_total || 0).toLocaleString()} tokens`;

/** The words the badge and the `[data-live]` marks show per state. */
const LIVE_WORDS = { open: "Live", connecting: "Connecting", reconnecting: "Connecting", offline: "Offline", error: "Offline" };

/** Shows the connection state in the badge and in every `[data-live]` mark. */
export function showState(state) {
  page.badge.className = `badge ${state}`;
  page.badge.hidden = state === "open";
  page.badge.replaceChildren(
    { connecting: "Connecting…", reconnecting: "Reconnecting…", offline: "Offline", error: "Connection error" }[state] || "",
    state === "error" || state === "offline" ? h("button", { onclick: () => page.herald.retry() }, "Retry") : null,
  );
  page.badge.dataset.state = state;
  for (const el of document.querySelectorAll("[data-live]")) {
    el.className = `live ${LIVE_WORDS[state]}`;
    el.textContent = LIVE_WORDS[state];
  }
}
