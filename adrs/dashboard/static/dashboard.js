// adrs dashboard: one page, four views (#/, #/run/NAME, #/candidate/NAME/ID,
// #/compare/A,B). Every text shown was written by a model or a candidate: it goes
// into the page with textContent only, never as HTML, and control characters
// (terminal escapes) are dropped. Views refresh themselves every 2 s.
"use strict";

const REFRESH_MS = 2000;
const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2"];
let timer = null;
const picked = new Set();  // runs ticked for comparison, kept across refreshes

function clean(value) {
  return String(value ?? "").replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, "");
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "href") node.setAttribute("href", safeHref(v));
    else node.setAttribute(k, clean(v));
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(clean(c)));
  return node;
}

function safeHref(v) {  // only the page's own views: never javascript: or another origin
  return String(v).startsWith("#/") ? "#/" + String(v).slice(2).split("/").map(
    (p) => encodeURIComponent(decodeURIComponent(p))).join("/") : "#/";
}

function num(x, digits = 4) {
  return x === null || x === undefined ? "n/a" : Number(x).toFixed(digits);
}

async function getJSON(path) {
  const r = await fetch(path, { credentials: "same-origin" });
  if (!r.ok) throw new Error(`${r.status} ${await r.text()}`);
  return r.json();
}

function table(headers, rows) {
  const t = el("table", {}, el("tr", {}, ...headers.map((h) => el("th", {}, h))));
  for (const row of rows) {
    t.append(el("tr", {}, ...row.map((c) => c instanceof Node ? el("td", {}, c)
      : el("td", typeof c === "number" ? { class: "num" } : {}, c))));
  }
  return t;
}

// --- charts: SVG built from numbers only ----------------------------------------

function chart(series, opts = {}) {
  const NS = "http://www.w3.org/2000/svg", W = 600, H = 260, P = 40;
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("class", "chart");
  const pts = series.flatMap((s) => s.points).filter((p) => p[1] !== null);
  const hs = (opts.hlines || []).filter((h) => h.y !== null);
  if (!pts.length) return svg;
  const xs = pts.map((p) => p[0]), ys = pts.map((p) => p[1]).concat(hs.map((h) => h.y));
  const x0 = Math.min(...xs), x1 = Math.max(...xs) > x0 ? Math.max(...xs) : x0 + 1;
  let y0 = Math.min(...ys), y1 = Math.max(...ys);
  if (y1 === y0) { y0 -= 0.5; y1 += 0.5; }
  const X = (x) => P + (x - x0) / (x1 - x0) * (W - 2 * P);
  const Y = (y) => H - P + (y0 - y) / (y1 - y0) * (H - 2 * P);
  const text = (x, y, s, anchor = "start", color = "#555") => {
    const t = document.createElementNS(NS, "text");
    t.setAttribute("x", x); t.setAttribute("y", y); t.setAttribute("text-anchor", anchor);
    t.setAttribute("fill", color);
    t.textContent = clean(s);
    svg.append(t);
  };
  series.forEach((s, k) => {
    const line = document.createElementNS(NS, "polyline");
    line.setAttribute("fill", "none");
    line.setAttribute("stroke", COLORS[k % COLORS.length]);
    line.setAttribute("stroke-width", k === 0 ? "2" : "1.2");
    line.setAttribute("points", s.points.filter((p) => p[1] !== null)
      .map((p) => `${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join(" "));
    line.setAttribute("data-series", clean(s.name));
    svg.append(line);
    text(W - P, 14 + 13 * k, s.name, "end", COLORS[k % COLORS.length]);
  });
  for (const h of hs) {
    const l = document.createElementNS(NS, "line");
    l.setAttribute("x1", P); l.setAttribute("x2", W - P);
    l.setAttribute("y1", Y(h.y)); l.setAttribute("y2", Y(h.y));
    l.setAttribute("stroke", "#999"); l.setAttribute("stroke-dasharray", "4 3");
    svg.append(l);
    text(P + 2, Y(h.y) - 3, `${h.name} ${num(h.y)}`);
  }
  text(P, H - 8, `${opts.xlabel || "iteration"} ${num(x0, opts.xdigits ?? 0)}–${num(x1, opts.xdigits ?? 0)}`);
  text(P, H - 22, `${opts.ylabel || "score"} ${num(y0, opts.ydigits ?? 4)} – ${num(y1, opts.ydigits ?? 4)}`);
  return svg;
}

// A scatter of candidates on two metrics; the non-dominated ones (the Pareto front,
// for the directions chosen) drawn larger. Clicking a point opens the candidate.
function scatter(points, xk, yk, lowerX, lowerY, runName) {
  const NS = "http://www.w3.org/2000/svg", W = 600, H = 300, P = 40;
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("class", "chart");
  svg.setAttribute("id", "pareto");
  const pts = points.filter((p) => xk in p.metrics && yk in p.metrics)
    .map((p) => ({ id: Number(p.id), x: p.metrics[xk], y: p.metrics[yk] }));
  if (!pts.length) return svg;
  const better = (a, b) => (lowerX ? a.x <= b.x : a.x >= b.x) && (lowerY ? a.y <= b.y : a.y >= b.y)
    && (a.x !== b.x || a.y !== b.y);
  const front = new Set(pts.filter((p) => !pts.some((q) => better(q, p))).map((p) => p.id));
  const xs = pts.map((p) => p.x), ys = pts.map((p) => p.y);
  let [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  if (x1 === x0) { x0 -= 0.5; x1 += 0.5; }
  if (y1 === y0) { y0 -= 0.5; y1 += 0.5; }
  const X = (x) => P + (x - x0) / (x1 - x0) * (W - 2 * P);
  const Y = (y) => H - P + (y0 - y) / (y1 - y0) * (H - 2 * P);
  for (const p of pts) {
    const c = document.createElementNS(NS, "circle");
    const onFront = front.has(p.id);
    c.setAttribute("cx", X(p.x).toFixed(1)); c.setAttribute("cy", Y(p.y).toFixed(1));
    c.setAttribute("r", onFront ? "5" : "2.5");
    c.setAttribute("fill", onFront ? COLORS[1] : "#999");
    c.setAttribute("class", onFront ? "front" : "point");
    c.setAttribute("data-id", String(p.id));
    c.addEventListener("click", () => { location.hash = `#/candidate/${encodeURIComponent(runName)}/${p.id}`; });
    svg.append(c);
  }
  const label = (x, y, s) => {
    const t = document.createElementNS(NS, "text");
    t.setAttribute("x", x); t.setAttribute("y", y); t.setAttribute("fill", "#555");
    t.textContent = clean(s);
    svg.append(t);
  };
  label(P, H - 8, `x: ${xk} ${num(x0)}–${num(x1)}${lowerX ? " (lower is better)" : ""}`);
  label(P, 14, `y: ${yk} ${num(y0)}–${num(y1)}${lowerY ? " (lower is better)" : ""}; ${front.size} on the front`);
  return svg;
}

const paretoChoice = { x: null, y: null, lowerX: false, lowerY: false };

function paretoView(points, runName) {
  const names = [...new Set(points.flatMap((p) => Object.keys(p.metrics)))].sort();
  if (!names.includes(paretoChoice.x)) paretoChoice.x = names.includes("score") ? "score" : names[0];
  if (!names.includes(paretoChoice.y)) paretoChoice.y = names.find((n) => n !== paretoChoice.x);
  const box = el("div", { id: "pareto-view" });
  const pick = (key) => {
    const s = el("select", { id: `pareto-${key}` });
    for (const n of names) {
      const o = el("option", { value: n }, n);
      o.selected = n === paretoChoice[key];
      s.append(o);
    }
    s.addEventListener("change", () => { paretoChoice[key] = s.value; draw(); });
    return s;
  };
  const lower = (key) => {
    const c = el("input", { type: "checkbox", id: `pareto-${key}` });
    c.checked = paretoChoice[key];
    c.addEventListener("change", () => { paretoChoice[key] = c.checked; draw(); });
    return c;
  };
  const plot = el("div");
  const draw = () => plot.replaceChildren(scatter(points, paretoChoice.x, paretoChoice.y,
    paretoChoice.lowerX, paretoChoice.lowerY, runName));
  box.append(el("p", {}, "x ", pick("x"), el("label", {}, lower("lowerX"), "lower is better"),
    " · y ", pick("y"), el("label", {}, lower("lowerY"), "lower is better")), plot);
  draw();
  return box;
}

function perModel(calls, field) {
  const models = [...new Set(calls.map((c) => c.model))].sort();
  return models.map((m) => ({ name: m, points: calls.filter((c) => c.model === m).map((c) => [c.n, c[field]]) }));
}

// --- views ---------------------------------------------------------------------

async function runsView(main) {
  const runs = await getJSON("/api/runs");
  main.replaceChildren(el("h1", {}, "Runs"),
    table(["run", "problem", "status", "iterations", "best", "initial", "best baseline",
      "cost", "started", "it/s"], runs.map((r) => {
      const base = Object.values(r.baselines).filter((x) => x !== null);
      return [el("a", { href: `#/run/${encodeURIComponent(r.name)}`, class: "run-link" }, r.name),
        r.problem, el("span", { class: `status-${r.status}` }, r.status),
        el("span", { class: "iterations" }, `${r.iterations}/${r.target}`), num(r.best),
        num(r.initial), base.length ? num(Math.max(...base)) : "n/a",
        `$${r.cost.toFixed(4)}` + (r.max_cost ? ` of $${r.max_cost}` : ""), r.started,
        r.rate === null ? "" : r.rate.toFixed(2)];
    })),
    compareForm(runs));
}

function compareForm(runs) {
  const box = el("p", {}, "Compare: ");
  for (const r of runs) {
    const c = el("input", { type: "checkbox", value: r.name, class: "pick" });
    c.checked = picked.has(r.name);
    c.addEventListener("change", () => (c.checked ? picked.add(r.name) : picked.delete(r.name)));
    box.append(el("label", {}, c, r.name), " ");
  }
  const go = el("button", { id: "compare" }, "compare selected");
  go.addEventListener("click", () => {
    const names = [...picked];
    location.hash = "#/compare/" + names.map(encodeURIComponent).join(",");
  });
  box.append(go);
  return box;
}

async function runView(main, name) {
  const r = await getJSON(`/api/runs/${encodeURIComponent(name)}`);
  const s = r.series;
  const islands = [...new Set(s.flatMap((p) => Object.keys(p.islands)))].sort();
  const best = [{ name: "best", points: s.map((p) => [p.iteration, p.best]) },
    ...islands.map((k) => ({ name: `island ${k}`, points: s.map((p) => [p.iteration, p.islands[k] ?? null]) }))];
  const hlines = Object.entries(r.baselines).map(([k, v]) => ({ name: k, y: v }));
  const outcomes = ["ok", "failed", "duplicate"].map((k) => ({ name: k, points: s.map((p) => [p.iteration, p[k]]) }));
  const overTime = [{ name: "best", points: r.over_time }];
  const reasons = s.length ? Object.keys(s[s.length - 1].failures) : [];
  const failures = reasons.map((k) => ({ name: k, points: s.map((p) => [p.iteration, p.failures[k]]) }));
  const populations = el("div", { id: "populations" });
  for (const [island, members] of Object.entries(r.populations)) {
    const line = el("p", {}, `island ${island}: `);
    for (const m of members) {
      line.append(el("a", { href: `#/candidate/${encodeURIComponent(name)}/${m.id}`, class: "node member" },
        `#${m.id} (${num(m.score)})`), " ");
    }
    populations.append(line);
  }
  const lineage = el("p", { id: "lineage" });
  for (const n of r.lineage) {
    lineage.append(el("a", { href: `#/candidate/${encodeURIComponent(name)}/${n.id}`, class: "node" },
      `#${n.id} (it ${n.iteration}, ${num(n.score)})`));
  }
  const parts = [el("h1", {}, r.name), el("p", { class: "sub" },
    `${r.problem} · `, el("span", { class: `status-${r.status}` }, r.status),
    ` · `, el("span", { class: "iterations" }, `${r.iterations}/${r.target}`),
    ` iterations · best ${num(r.best)} (initial ${num(r.initial)}) · $${r.cost.toFixed(4)}`),
  el("div", { class: "grid2" },
    el("div", {}, el("h3", {}, "Best score (baselines dashed)"), chart(best, { hlines })),
    el("div", { id: "over-time" }, el("h3", {}, "Best score over wall time"),
      chart(overTime, { hlines, xlabel: "seconds", xdigits: 1 })),
    el("div", {}, el("h3", {}, "Outcomes so far"), chart(outcomes, { ylabel: "children", ydigits: 0 })),
    el("div", { id: "failures-over-time" }, el("h3", {}, "Failures by reason"),
      chart(failures, { ylabel: "failed children", ydigits: 0 }))),
  el("h3", {}, "Lineage of the best (click a node)"), lineage,
  el("h3", {}, "Islands' populations (best members, click one)"), populations,
  el("h3", {}, "Failures by reason"),
  table(["reason", "children"], Object.entries(r.failures)),
  el("p", {}, `Duplicates: ${Object.entries(r.duplicates).map(([k, v]) => `${k} ${v}`).join(", ") || "none"}; ~${r.eval_seconds_saved.toFixed(1)} s of evaluation saved by hashing`)];
  if (r.calls.length) {
    parts.push(el("div", { class: "grid2", id: "models-over-time" },
      el("div", {}, el("h3", {}, "LLM calls per model (the bandit's choices)"),
        chart(perModel(r.calls, "calls"), { xlabel: "LLM call", ylabel: "calls", ydigits: 0 })),
      el("div", {}, el("h3", {}, "Tokens per model"), chart(perModel(r.calls, "tokens"), { xlabel: "LLM call", ylabel: "tokens", ydigits: 0 })),
      el("div", {}, el("h3", {}, "Cost per model (USD)"), chart(perModel(r.calls, "cost"), { xlabel: "LLM call", ylabel: "USD" }))));
  }
  if (r.pareto.length) {
    parts.push(el("h3", {}, "Pareto view (the best scored candidates; front in red, click a point)"),
      paretoView(r.pareto, name));
  }
  if (Object.keys(r.models).length) {
    parts.push(el("h3", {}, "Models"), table(["model", "calls", "failed", "tokens in", "tokens out", "cost", "scored children"],
      Object.entries(r.models).map(([m, u]) => [m, u.calls, u.failed_calls, u.tokens_in, u.tokens_out, `$${u.cost.toFixed(4)}`, u.ok_children])));
  }
  if (r.edits.length) {
    parts.push(el("h3", {}, "Edits that paid"), table(["edit", "children", "valid", "duplicates", "beat their parent"],
      r.edits.map((e) => [e.edit, e.children, e.ok, e.duplicate, e.improved])));
  }
  if (r.prompts) {
    parts.push(el("h3", {}, "Prompt variants"), table(["variant", "from", "author", "island", "children", "improved", "instruction"],
      r.prompts.variants.map((v) => [`#${v.id}`, v.parent_id ? `#${v.parent_id}` : "", v.author, v.island, v.children, v.improved, v.instruction])));
  }
  if (r.grid.length) {
    parts.push(el("h3", {}, "MAP-Elites grid (best per cell)"), table(["cell", "candidate", "score"],
      r.grid.map((c) => [c.cell.join(","), el("a", { href: `#/candidate/${encodeURIComponent(name)}/${c.id}` }, `#${c.id}`), num(c.score)])));
  }
  main.replaceChildren(...parts);
}

function diffBlock(diff) {
  const pre = el("pre", { id: "diff" });
  for (const line of clean(diff).split("\n")) {
    const kind = line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : line.startsWith("@@") ? "hunk" : "";
    pre.append(el("span", kind ? { class: kind } : {}, line + "\n"));
  }
  return pre;
}

async function candidateView(main, name, id) {
  const c = await getJSON(`/api/runs/${encodeURIComponent(name)}/candidates/${id}`);
  const parts = [el("p", {}, el("a", { href: `#/run/${encodeURIComponent(name)}` }, `← ${name}`)),
    el("h1", {}, `Candidate #${c.id}`),
    el("p", { class: "sub" }, `iteration ${c.iteration} · ${c.status} · score ${num(c.score)} · ${c.mutation ?? ""}`)];
  if (c.failure) parts.push(el("p", { id: "failure" }, `failure: ${c.failure}: ${c.error ?? ""}`));
  parts.push(el("h3", {}, "Diff against its parent"), diffBlock(c.diff || "(the initial program)"),
    el("h3", {}, "Program"), el("pre", { id: "source" }, c.source),
    el("h3", {}, "Metrics"), table(["metric", "value"], Object.entries(c.metrics).map(([k, v]) => [k, String(v)])));
  for (const [k, v] of Object.entries(c.artifacts || {})) {
    parts.push(el("h3", {}, `Evaluator feedback: ${k}`), el("pre", { class: "artifact" }, v));
  }
  if (c.call) {
    parts.push(el("h3", {}, `Prompt (${c.call.model})`), el("pre", { id: "prompt" }, c.call.prompt),
      el("h3", {}, "Reply"), el("pre", { id: "reply" }, c.call.response ?? c.call.error ?? ""));
  }
  main.replaceChildren(...parts);
}

async function compareView(main, names) {
  const runs = await getJSON(`/api/compare?runs=${names.map(encodeURIComponent).join(",")}`);
  main.replaceChildren(el("h1", {}, "Compare runs"),
    chart(runs.map((r) => ({ name: r.name, points: r.curve }))),
    table(["run", "best"], runs.map((r) => [r.name, num(r.curve.length ? r.curve[r.curve.length - 1][1] : null)])));
}

async function route() {
  clearTimeout(timer);
  const main = document.getElementById("view");
  const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  try {
    if (parts[0] === "run" && parts[1]) await runView(main, parts[1]);
    else if (parts[0] === "candidate" && parts[2]) await candidateView(main, parts[1], Number(parts[2]));
    else if (parts[0] === "compare" && parts[1]) await compareView(main, parts[1].split(","));
    else await runsView(main);
    document.getElementById("live").textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (err) {
    main.replaceChildren(el("p", { class: "error" }, `could not load: ${err.message}`));
  }
  if (parts[0] !== "candidate") timer = setTimeout(route, REFRESH_MS);  // a candidate does not change
}

window.addEventListener("hashchange", route);
window.addEventListener("DOMContentLoaded", route);
