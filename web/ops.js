// The operator page: live counters, charts of the last minutes, and the
// biggest rooms; polled from /api/stats and /api/stats/history.
import { lineChart } from "/ui/chart.js";
import { api, h, page } from "/ui/ui.js";

/** How much of the server's history the operator charts show. */
const OPS_WINDOW_MS = 10 * 60_000;
/** Rooms listed under "Biggest rooms". */
const BIGGEST_ROOMS = 10;

/** Shows the operator page; returns the function that leaves the view. */
export function opsView() {
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
  page.main.replaceChildren(h("h1", {}, "Operator"), apiDoc, failed, cards,
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
