// The admin dashboard: reads the KPI API of this platform with the session
// cookie and draws hand-written SVG charts. It requests nothing from any
// other origin, and the page's Content-Security-Policy enforces that.
"use strict";

const KPI_URL = "/api/analytics/kpis";
const LOGIN_URL = "/api/auth/login?return_to=" + encodeURIComponent("/api/admin/dashboard");
const SVG = "http://www.w3.org/2000/svg";
const COLORS = ["#2f6fed", "#e8590c", "#2b8a3e", "#ae3ec9"];
const WIDTH = 480, HEIGHT = 200, LEFT = 48, RIGHT = 12, TOP = 12, BOTTOM = 40;

function isoDate(date) {
  return date.toISOString().slice(0, 10);
}

function formatNumber(value, digits) {
  if (value === null || value === undefined) return "–";
  return Number(value).toLocaleString("en-US", { maximumFractionDigits: digits ?? 0 });
}

function svgElement(name, attributes, text) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
  if (text !== undefined) element.textContent = text;
  return element;
}

function label(start, granularity) {
  const iso = new Date(start).toISOString();
  return granularity === "hour" ? iso.slice(5, 13).replace("T", " ") + "h" : iso.slice(5, 10);
}

// chart draws one or more series over the report's windows: lines for
// kind "line", grouped bars for kind "bar". Null values leave a gap.
function chart(containerId, report, series, kind) {
  const container = document.getElementById(containerId);
  container.replaceChildren();
  const points = report.series;
  const values = series.flatMap((s) => points.map(s.value)).filter((v) => v !== null && v !== undefined);
  const max = Math.max(1, ...values);
  const plotWidth = WIDTH - LEFT - RIGHT, plotHeight = HEIGHT - TOP - BOTTOM;
  const step = plotWidth / Math.max(1, points.length);
  const y = (v) => TOP + plotHeight - (v / max) * plotHeight;

  const svg = svgElement("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "data-max": String(max) });
  svg.append(svgElement("line", { class: "axis", x1: LEFT, y1: TOP + plotHeight, x2: WIDTH - RIGHT, y2: TOP + plotHeight }));
  svg.append(svgElement("line", { class: "axis", x1: LEFT, y1: TOP, x2: LEFT, y2: TOP + plotHeight }));
  for (const fraction of [0, 0.5, 1]) {
    svg.append(svgElement("text", { class: "tick", x: LEFT - 4, y: y(max * fraction) + 3, "text-anchor": "end" }, formatNumber(max * fraction, 1)));
  }
  const labelEvery = Math.max(1, Math.ceil(points.length / 8));
  points.forEach((point, i) => {
    if (i % labelEvery === 0) {
      svg.append(svgElement("text", { class: "tick", x: LEFT + step * (i + 0.5), y: HEIGHT - BOTTOM + 14, "text-anchor": "middle" }, label(point.start, report.granularity)));
    }
  });

  series.forEach((s, index) => {
    const color = COLORS[index % COLORS.length];
    if (kind === "bar") {
      const barWidth = Math.max(1, (step * 0.8) / series.length);
      points.forEach((point, i) => {
        const value = s.value(point);
        if (value === null || value === undefined) return;
        const bar = svgElement("rect", {
          class: "datum", "data-series": s.name, "data-value": String(value),
          x: LEFT + step * i + step * 0.1 + barWidth * index, y: y(value), width: barWidth, height: TOP + plotHeight - y(value), fill: color,
        });
        bar.append(svgElement("title", {}, `${s.name} ${label(point.start, report.granularity)}: ${formatNumber(value, 1)}`));
        svg.append(bar);
      });
    } else {
      let path = "";
      points.forEach((point, i) => {
        const value = s.value(point);
        if (value === null || value === undefined) return;
        const x = LEFT + step * (i + 0.5);
        path += `${path === "" ? "M" : "L"}${x.toFixed(1)},${y(value).toFixed(1)} `;
        const dot = svgElement("circle", { class: "datum", "data-series": s.name, "data-value": String(value), cx: x, cy: y(value), r: 2.5, fill: color });
        dot.append(svgElement("title", {}, `${s.name} ${label(point.start, report.granularity)}: ${formatNumber(value, 1)}`));
        svg.append(dot);
      });
      if (path !== "") svg.append(svgElement("path", { d: path, fill: "none", stroke: color, "stroke-width": 1.5 }));
    }
    svg.append(svgElement("rect", { x: LEFT + index * 130, y: HEIGHT - 14, width: 10, height: 10, fill: color }));
    svg.append(svgElement("text", { class: "legend", x: LEFT + index * 130 + 14, y: HEIGHT - 5 }, s.name));
  });
  container.append(svg);
}

function tiles(report) {
  const totals = report.totals;
  const dau = report.active_users.daily.at(-1);
  const wau = report.active_users.weekly.at(-1);
  const mau = report.active_users.monthly.at(-1);
  const entries = [
    ["active-users", "Active users (period)", formatNumber(totals.active_users)],
    ["dau", "DAU (last day)", formatNumber(dau ? dau.users : 0)],
    ["wau", "WAU (last week)", formatNumber(wau ? wau.users : 0)],
    ["mau", "MAU (last month)", formatNumber(mau ? mau.users : 0)],
    ["conversations", "Conversations", formatNumber(totals.conversations)],
    ["messages", "Answered messages", formatNumber(totals.messages)],
    ["tokens", "Tokens", formatNumber(totals.prompt_tokens + totals.completion_tokens)],
    ["cost", "Estimated cost", formatNumber(totals.estimated_cost, 2)],
    ["documents-ingested", "Documents ingested", formatNumber(totals.documents_ingested)],
    ["documents-failed", "Documents failed", formatNumber(totals.documents_failed)],
    ["latency-p50", "Latency p50 (ms)", formatNumber(totals.latency_p50_ms)],
    ["latency-p95", "Latency p95 (ms)", formatNumber(totals.latency_p95_ms)],
    ["feedback-score", "Feedback score", formatNumber(totals.feedback_score, 2)],
  ];
  const section = document.getElementById("tiles");
  section.replaceChildren(...entries.map(([id, name, value]) => {
    const tile = document.createElement("div");
    tile.className = "tile";
    tile.id = "tile-" + id;
    const nameElement = document.createElement("div");
    nameElement.className = "label";
    nameElement.textContent = name;
    const valueElement = document.createElement("div");
    valueElement.className = "value";
    valueElement.textContent = value;
    tile.append(nameElement, valueElement);
    return tile;
  }));
}

function topDocuments(report) {
  const body = document.querySelector("#top-documents tbody");
  body.replaceChildren(...report.top_documents.map((d) => {
    const row = document.createElement("tr");
    const name = document.createElement("td");
    name.textContent = d.filename || d.document_id + " (deleted)";
    const citations = document.createElement("td");
    citations.className = "number";
    citations.textContent = formatNumber(d.citations);
    row.append(name, citations);
    return row;
  }));
}

function render(report) {
  tiles(report);
  chart("chart-active-users", report, [{ name: "active users", value: (p) => p.active_users }], "line");
  chart("chart-messages", report, [
    { name: "conversations", value: (p) => p.conversations },
    { name: "messages", value: (p) => p.messages },
  ], "bar");
  chart("chart-tokens", report, [
    { name: "prompt", value: (p) => p.prompt_tokens },
    { name: "completion", value: (p) => p.completion_tokens },
  ], "bar");
  chart("chart-latency", report, [
    { name: "p50", value: (p) => p.latency_p50_ms },
    { name: "p95", value: (p) => p.latency_p95_ms },
  ], "line");
  chart("chart-documents", report, [
    { name: "ingested", value: (p) => p.documents_ingested },
    { name: "failed", value: (p) => p.documents_failed },
  ], "bar");
  chart("chart-feedback", report, [
    { name: "helpful", value: (p) => p.feedback_up },
    { name: "not helpful", value: (p) => p.feedback_down },
  ], "bar");
  topDocuments(report);
}

async function load(form) {
  const status = document.getElementById("status");
  const params = new URLSearchParams(new FormData(form));
  status.className = "";
  status.textContent = "Loading…";
  const response = await fetch(KPI_URL + "?" + params, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (response.status === 401) {
    window.location.assign(LOGIN_URL);
    return;
  }
  if (!response.ok) {
    let detail = response.statusText;
    try {
      detail = (await response.json()).detail || detail;
    } catch (_) {
      // A body that is not problem+json keeps the status text.
    }
    status.className = "error";
    status.textContent = detail;
    return;
  }
  const report = await response.json();
  render(report);
  status.textContent = `${report.series.length} ${report.granularity} windows from ${report.from} to ${report.to}`;
  document.body.dataset.loaded = "true";
}

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("range");
  const now = new Date();
  form.elements.to.value = isoDate(now);
  form.elements.from.value = isoDate(new Date(now.getTime() - 29 * 24 * 3600 * 1000));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    load(form).catch((error) => {
      const status = document.getElementById("status");
      status.className = "error";
      status.textContent = "The KPIs could not be loaded: " + error.message;
    });
  });
  form.requestSubmit();
});
