// The work-item board: features by status column, tracks and spikes, and the
// audit trail. Live through the `broadcasts` room.
import { api, h, page, when } from "/ui/ui.js";

/** The board's columns: a feature goes under its status, or under Other. */
const COLUMNS = [["todo", "To do"], ["in_progress", "In progress"], ["done", "Done"], ["other", "Other"]];

/** The column of a status: `todo`, `in_progress` (also "in progress", "in-progress"), `done`, else `other`. */
function columnOf(status) {
  const key = String(status || "").trim().toLowerCase().replace(/[\s-]+/g, "_");
  return COLUMNS.some(([k]) => k === key && k !== "other") ? key : "other";
}

/** Shows the board; returns the function that leaves the view. */
export function boardView() {
  const items = { features: new Map(), tracks: new Map(), spikes: new Map() };
  const trail = h("ol", { id: "trail", class: "muted" });
  const board = h("div", { class: "board", id: "board" });
  const notes = h("div", { class: "columns", id: "notes" });
  page.main.replaceChildren(h("h1", {}, "Work items"), h("h2", {}, "Features"), board, notes, h("h2", {}, "Audit trail"), trail);
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
  const leave = page.herald.subscribe("broadcasts", {
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
