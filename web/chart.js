// chart.js — the dashboard's line charts, in plain SVG: no library, no
// build step. Colours and sizes come from style.css (the page's CSP refuses
// inline style attributes; everything here is attributes and classes).
//
//   const chart = lineChart({ id: "connections", title: "Connections" });
//   parent.append(chart.el);
//   chart.update([{ name: "connections", points: [{ t: Date, v: 3 }, …] }]);

const SVG = "http://www.w3.org/2000/svg";
/** The drawing's own coordinates; it is stretched to the card's width. */
const W = 300;
const H = 100;

function svg(tag, attrs = {}) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
}

/** 1234 → "1,234"; 12345678 → "12.3M"; rates keep one decimal below 10. */
export function compact(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return "—";
  const a = Math.abs(v);
  if (a >= 1e6) return `${(v / 1e6).toFixed(a >= 1e7 ? 0 : 1)}M`;
  if (a >= 1e4) return `${(v / 1e3).toFixed(a >= 1e5 ? 0 : 1)}k`;
  if (a < 10 && !Number.isInteger(v)) return v.toFixed(1);
  return Math.round(v).toLocaleString("en");
}

/** A ceiling for the y axis: 1, 2 or 5 times a power of ten, at least `max`. */
export function niceCeiling(max) {
  if (!(max > 0)) return 1;
  const step = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 5, 10]) if (m * step >= max) return m * step;
  return 10 * step;
}

/** "45 s", "3 min", "2 h": how long a span of milliseconds is. */
export function span(ms) {
  if (ms < 90_000) return `${Math.max(1, Math.round(ms / 1000))} s`;
  if (ms < 90 * 60_000) return `${Math.round(ms / 60_000)} min`;
  return `${Math.round(ms / 3_600_000)} h`;
}

/**
 * The SVG path of one series: `M`/`L` through its points, a new `M` after a
 * missing value (`v` null), so a gap in the data is a gap in the line.
 */
export function linePath(points, x, y) {
  let d = "";
  let pen = false;
  for (const p of points) {
    if (p.v === null || p.v === undefined) {
      pen = false;
      continue;
    }
    d += `${pen ? "L" : "M"}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`;
    pen = true;
  }
  return d;
}

/**
 * A chart in a `figure`: its title and latest value, one line per series
 * (the first also filled below), the y axis' ceiling and the time the x axis
 * spans. With `window` (ms) the x axis ends at the newest point and goes back
 * as far as the data does, between `minWindow` and `window`; without it the
 * axis runs from the first point to the last.
 * Returns `{el, update(series)}`; `series` is `[{name, points:[{t, v}]}]`,
 * oldest first, `t` a Date or unix ms.
 */
export function lineChart({ id, title, window: windowMs, minWindow = 60_000, format = compact, legend = false }) {
  const value = document.createElement("strong");
  value.className = "chart-value";
  const caption = document.createElement("figcaption");
  caption.append(document.createElement("span"), value);
  caption.firstChild.textContent = title;
  const top = document.createElement("span");
  const from = document.createElement("span");
  const to = document.createElement("span");
  top.className = "chart-max";
  const axis = document.createElement("div");
  axis.className = "chart-axis";
  axis.append(from, to);
  const keys = document.createElement("div");
  keys.className = "chart-legend";
  const drawing = svg("svg", { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", role: "img" });
  const plot = document.createElement("div");
  plot.className = "chart-plot";
  plot.append(top, drawing);
  const el = document.createElement("figure");
  el.className = "chart";
  el.dataset.chart = id;
  el.append(caption, plot, axis);
  if (legend) el.append(keys);

  function update(series) {
    const all = series.flatMap((s) => s.points).filter((p) => p.v !== null && p.v !== undefined);
    const ts = series.flatMap((s) => s.points).map((p) => +p.t);
    const last = Math.max(...ts);
    const oldest = Math.min(...ts);
    const shown = windowMs ? Math.min(windowMs, Math.max(minWindow, last - oldest)) : last - oldest;
    const first = last - shown;
    const ceiling = niceCeiling(Math.max(0, ...all.map((p) => p.v)));
    const width = Math.max(1, last - first);
    const x = (t) => ((+t - first) / width) * W;
    const y = (v) => H - (v / ceiling) * (H - 2) - 1;
    const children = [1, 2, 3].map((i) => svg("line", { class: "grid", x1: 0, x2: W, y1: (H * i) / 4, y2: (H * i) / 4 }));
    series.forEach((s, i) => {
      const points = s.points.filter((p) => +p.t >= first);
      const d = linePath(points, x, y);
      if (!d) return;
      if (i === 0) {
        const drawn = points.filter((p) => p.v !== null && p.v !== undefined);
        const area = `${d}L${x(drawn.at(-1).t).toFixed(1)},${H}L${x(drawn[0].t).toFixed(1)},${H}Z`;
        children.push(svg("path", { class: "area", d: area }));
      }
      children.push(svg("path", { class: `line series-${i}`, d, "vector-effect": "non-scaling-stroke", "data-series": s.name }));
    });
    drawing.replaceChildren(...children);
    const newest = series[0] ? series[0].points.filter((p) => p.v !== null && p.v !== undefined).at(-1) : undefined;
    const latest = newest ? format(newest.v) : "—";
    value.textContent = latest;
    top.textContent = format(ceiling);
    const clock = (t) => new Date(t).toLocaleTimeString();
    if (!ts.length) [from.textContent, to.textContent] = ["", "no data yet"];
    else if (windowMs) [from.textContent, to.textContent] = [`${span(shown)} ago`, "now"];
    else [from.textContent, to.textContent] = [clock(first), clock(last)];
    drawing.setAttribute("aria-label", `${title}: ${latest}`);
    el.dataset.points = String(series[0] ? series[0].points.length : 0);
    el.dataset.last = newest ? String(newest.v) : "";
    keys.replaceChildren(...series.map((s, i) => {
      const key = document.createElement("span");
      key.className = `key series-${i}`;
      key.textContent = s.name;
      return key;
    }));
  }
  update([]);
  return { el, update };
}
