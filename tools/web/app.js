// edw serve's page: reads /api/ and redraws the parts that changed. Documents' text is only ever
// put in the page as text (textContent), never as HTML.
"use strict";

const pageSize = 20;
const pollMs = 2000;
const colours = ["#2f6fde", "#1f8a4c", "#b7791f", "#8e44ad", "#c4312b", "#16a2b8"];

const state = {
  status: null,
  version: -1,
  step: null, // the selected tab's step name
  skip: { waiting: 0, failed: 0, retrying: 0 },
  failure: null, // the id of the failed doc shown
};

const $ = (id) => document.getElementById(id);

function element(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  for (const child of children) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

async function api(path, options) {
  const response = await fetch(path, Object.assign({ credentials: "same-origin" }, options));
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new Error(body.reason || body.error || response.status + " " + response.statusText);
  }
  return body;
}

function showError(error) {
  const box = $("error");
  box.hidden = !error;
  box.textContent = error ? String(error.message || error) : "";
}

function age(seconds) {
  if (seconds === null || seconds === undefined) return "";
  const s = Math.floor(seconds);
  if (s >= 86400) return Math.floor(s / 86400) + "d " + Math.floor((s % 86400) / 3600) + "h";
  if (s >= 3600) return Math.floor(s / 3600) + "h " + Math.floor((s % 3600) / 60) + "m";
  if (s >= 60) return Math.floor(s / 60) + "m " + (s % 60) + "s";
  return s + "s";
}

function ageSince(iso) {
  if (typeof iso !== "string") return "";
  const then = Date.parse(iso);
  return isNaN(then) ? iso : age((Date.now() - then) / 1000) + " ago";
}

function stepTotal(step) {
  return step.waiting + step.in_progress + step.retrying + step.failed;
}

// ---- the pipeline view ----------------------------------------------------------------------

function count(n, one, many) {
  return n + " " + (n === 1 ? one : many);
}

// The steps with a tab: the pipeline's, and retired ones that still hold docs (failed, retrying
// or claimed), so that those can be looked at and retried.
function tabSteps(status) {
  return status.steps.filter((step) => !step.retired || step.failed || step.retrying || step.in_progress);
}

function drawDiagram(status) {
  drawPipelineGraph($("diagram"), status, state.step, selectStep);
  const stranded = Object.values(status.stranded || {}).reduce((sum, docs) => sum + docs, 0);
  const summary = [element("span", { id: "finished-total" },
    count(status.finished, "doc has", "docs have") + " passed every step")];
  if (stranded) {
    summary.push(" · ", element("span", { class: "bad", id: "stranded-total" },
      count(stranded, "doc", "docs") + " stranded after a step not in the pipeline"));
  }
  $("pipeline-summary").replaceChildren(...summary);
}

// Steps seen in the docs that the pipeline does not have (retired), and, without a declared
// pipeline, steps seen only in failures or claims, whose place is unknown.
function drawRetired(status) {
  const apart = status.steps.filter((step) => step.retired || step.after === null);
  $("retired-box").hidden = apart.length === 0;
  const body = $("retired").tBodies[0];
  body.replaceChildren();
  const tabbed = new Set(tabSteps(status).map((step) => step.name));
  for (const step of apart) {
    const name = tabbed.has(step.name)
      ? element("a", { href: "#step/" + encodeURIComponent(step.name) }, step.name) : step.name;
    const live = (step.worker_records || []).filter((w) => w.state !== "stopped" && w.state !== "dead").length;
    let note = step.retired ? "" : "place unknown: seen only in failures or claims";
    if (live) note = count(live, "live worker runs", "live workers run") + " it: add it to pipeline.json, or stop it";
    const stranded = (status.stranded || {})[step.name] || 0;
    body.append(element("tr", { "data-step": step.name, class: live ? "bad" : "" },
      element("td", {}, name), element("td", {}, String(step.done)),
      element("td", { class: stranded ? "bad" : "" }, String(stranded)),
      element("td", { class: step.failed ? "bad" : "" }, String(step.failed)),
      element("td", { class: "note" }, note)));
  }
}

// Workflows that move docs through states (_design/states): one row of boxes per group.
function drawStates(status) {
  const groups = status.states || [];
  $("states").hidden = groups.length === 0;
  const box = $("state-groups");
  box.replaceChildren();
  for (const group of groups) {
    const row = element("div", { class: "diagram", "data-group": group.group });
    row.append(element("div", { class: "node end" },
      element("strong", {}, group.group), element("span", {}, group.total + " docs")));
    for (const count of group.states) {
      const parked = count.state.startsWith("parked") || count.state === "failed";
      row.append(element("div", { class: "node" + (count.docs ? "" : " zero"), "data-state": count.state },
        element("strong", {}, count.state),
        element("span", { class: parked && count.docs ? "bad" : "" }, String(count.docs))));
    }
    box.append(row);
  }
}

function drawPlot(status) {
  const svg = $("plot");
  const ns = "http://www.w3.org/2000/svg";
  const width = 600, height = 180, left = 34, bottom = 20, top = 8;
  svg.replaceChildren();
  // The steps that did something in the hour (a flat line at 0 says nothing).
  const steps = status.steps.filter((step) => step.done_last_60_min > 0);
  const peak = Math.max(1, ...steps.flatMap((step) => step.done_per_minute));
  const x = (i) => left + (i * (width - left - 6)) / 59;
  const y = (v) => height - bottom - (v * (height - bottom - top)) / peak;
  const add = (tag, attributes, text) => {
    const node = document.createElementNS(ns, tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
    if (text !== undefined) node.textContent = text;
    svg.append(node);
  };
  add("line", { x1: left, y1: y(0), x2: width - 6, y2: y(0), stroke: "#d5dae1" });
  add("line", { x1: left, y1: top, x2: left, y2: y(0), stroke: "#d5dae1" });
  add("text", { x: 2, y: top + 8 }, String(peak));
  add("text", { x: 2, y: y(0) }, "0");
  add("text", { x: left, y: height - 4 }, "60 min ago");
  add("text", { x: width - 30, y: height - 4 }, "now");
  const legend = $("legend");
  legend.replaceChildren();
  if (steps.length === 0) legend.append(element("span", { class: "hint" }, "no doc done in the last hour"));
  steps.forEach((step, index) => {
    const colour = colours[index % colours.length];
    const points = step.done_per_minute.map((v, i) => x(i) + "," + y(v)).join(" ");
    add("polyline", { points, fill: "none", stroke: colour, "stroke-width": 2, "data-step": step.name,
      "stroke-dasharray": step.retired ? "4 3" : "none" });
    const swatch = element("i");
    swatch.style.background = colour;
    legend.append(element("span", { "data-step": step.name }, swatch,
      step.name + (step.retired ? " (retired)" : "") + ": " + step.done_last_60_min + " in the hour, " +
      (rateText(step.rate) || "none in the last 5 min")));
  });
}

function drawTabs(status) {
  const tabs = $("tabs");
  tabs.replaceChildren();
  for (const step of tabSteps(status)) {
    const failed = element("span", { class: "count-failed" + (step.failed ? "" : " zero") }, step.failed);
    failed.title = step.failed + " failed";
    const button = element("button", {
      role: "tab", "data-step": step.name, "aria-selected": String(step.name === state.step),
      class: step.retired ? "retired" : "", onclick: () => selectStep(step.name),
    }, step.name, element("span", { class: "count-total", title: "waiting, running, retrying and failed" },
      stepTotal(step)), failed);
    if (step.retired) button.title = "retired: not in pipeline.json";
    tabs.append(button);
  }
  $("empty").hidden = status.steps.length > 0 || (status.states || []).length > 0;
}

function pager(id, list, page) {
  const box = $(id);
  box.replaceChildren();
  if (page.total === 0) return;
  const from = page.skip + 1, to = page.skip + page.rows.length;
  const move = (skip) => () => { state.skip[list] = Math.max(0, skip); loadList(list); };
  const previous = element("button", { type: "button", onclick: move(page.skip - pageSize) }, "← newer");
  const next = element("button", { type: "button", onclick: move(page.skip + pageSize) }, "older →");
  previous.disabled = page.skip === 0;
  next.disabled = to >= page.total;
  box.append(previous, element("span", {}, from + "–" + to + " of " + page.total), next);
}

async function loadList(list) {
  const step = state.step;
  if (!step) return;
  const page = await api("/api/steps/" + encodeURIComponent(step) + "/" + list +
    "?skip=" + state.skip[list] + "&limit=" + pageSize);
  if (step !== state.step) return; // another tab was chosen meanwhile
  if (page.rows.length === 0 && state.skip[list] > 0) { // the page emptied: go back one
    state.skip[list] = Math.max(0, state.skip[list] - pageSize);
    return loadList(list);
  }
  const box = $(list);
  box.replaceChildren();
  for (const row of page.rows) {
    const link = element("a", { href: "#doc/" + encodeURIComponent(row.id) }, row.id);
    let note = ageSince(row.since);
    if (list === "failed" || list === "retrying") {
      const detail = row.detail || {};
      const attempts = detail.attempt ? detail.attempt + (detail.attempt === 1 ? " attempt · " : " attempts · ") : "";
      // The message names the step and the doc, which the row already shows.
      note = attempts + String(detail.message || "").replace(/^step \S+ on doc \S+: /, "");
    }
    const item = element("li", { "data-id": row.id }, link, element("span", { class: "note", title: note }, note));
    if (list === "failed") {
      link.addEventListener("click", (event) => event.stopPropagation());
      item.addEventListener("click", () => showFailure(row.id));
      if (row.id === state.failure) item.classList.add("selected");
    }
    box.append(item);
  }
  if (page.rows.length === 0) box.append(element("li", { class: "none" }, "none"));
  pager(list + "-pager", list, page);
  if (list === "retrying") $("retrying-box").hidden = page.total === 0;
}

async function loadLists() {
  await Promise.all(["waiting", "failed", "retrying"].map(loadList));
}

// The selected step's workers, live ones first as the status lists them.
function drawWorkers() {
  const step = (state.status ? state.status.steps : []).find((s) => s.name === state.step);
  const records = step ? step.worker_records || [] : [];
  $("workers-box").hidden = records.length === 0;
  const body = $("workers").tBodies[0];
  body.replaceChildren();
  for (const worker of records) {
    const live = worker.state === "running" || worker.state === "paused";
    const sharing = worker.lease_s !== null ? "lease " + worker.lease_s + " s"
      : worker.shard ? "shard " + worker.shard : "";
    const since = element("td", {}, ageSince(worker.since));
    since.title = worker.since;
    body.append(element("tr", { class: worker.state, "data-worker": worker.name },
      element("td", {}, worker.name), element("td", {}, worker.state), since,
      element("td", {}, String(worker.done)), element("td", {}, live ? String(worker.in_hand) : ""),
      element("td", {}, sharing)));
  }
}

function selectStep(name) {
  if (state.step !== name) {
    state.step = name;
    state.skip = { waiting: 0, failed: 0, retrying: 0 };
    state.failure = null;
    $("failure").hidden = true;
  }
  if (location.hash !== "#step/" + encodeURIComponent(name)) {
    history.replaceState(null, "", "#step/" + encodeURIComponent(name));
  }
  for (const button of $("tabs").children) {
    button.setAttribute("aria-selected", String(button.dataset.step === name));
  }
  for (const node of $("diagram").querySelectorAll("g.step")) {
    node.classList.toggle("selected", node.dataset.node === name);
  }
  $("step").hidden = false;
  drawWorkers();
  showRerunForm();
  loadLists().catch(showError);
}

async function showFailure(id) {
  state.failure = id;
  const doc = await api("/api/docs/" + encodeURIComponent(id));
  const failures = (doc.edw_failures || []).filter((f) => f.step === state.step && f.retried === undefined);
  const last = failures[failures.length - 1] || {};
  $("failure-doc").textContent = id;
  $("failure-doc").href = "#doc/" + encodeURIComponent(id);
  $("failure-message").textContent = last.message || "(no message recorded)";
  $("failure-attempts").textContent = String(last.attempt || failures.length);
  $("failure-worker").textContent = last.worker || "";
  $("failure-time").textContent = last.time ? last.time + " (" + ageSince(last.time) + ")" : "";
  $("failure-detail").textContent = last.detail || "(none recorded)";
  $("retry-result").textContent = "";
  $("retry-button").disabled = false;
  $("failure").hidden = false;
  for (const item of $("failed").children) item.classList.toggle("selected", item.dataset.id === id);
}

async function retryShown() {
  const id = state.failure;
  $("retry-button").disabled = true;
  try {
    await api("/api/docs/" + encodeURIComponent(id) + "/retry", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: "{}",
    });
    $("retry-result").textContent = "put back into the pipeline";
    state.failure = null;
    setTimeout(() => { $("failure").hidden = true; }, 1500);
    await refresh(true);
  } catch (error) {
    $("retry-result").textContent = "retry failed: " + error.message;
    $("retry-button").disabled = false;
  }
}

// ---- the document view ----------------------------------------------------------------------

async function showDoc(id) {
  $("pipeline-view").hidden = true;
  $("doc-view").hidden = false;
  $("doc-id").textContent = id;
  const doc = await api("/api/docs/" + encodeURIComponent(id));
  const process = Array.isArray(doc.process) ? doc.process : [];
  $("doc-summary").textContent = "status " + JSON.stringify(doc.status) + " · " + process.length +
    " step" + (process.length === 1 ? "" : "s") + " done" +
    (doc.edw_claim ? " · claimed by " + doc.edw_claim.worker + " for " + doc.edw_claim.step : "");
  const timeline = $("timeline");
  timeline.replaceChildren();
  let previous = null;
  for (const entry of process) {
    const when = Date.parse(entry.date);
    const took = previous !== null && !isNaN(when) ? " · " + age((when - previous) / 1000) + " after the step before" : "";
    const fields = Object.entries(entry).filter(([k]) => k !== "name" && k !== "date")
      .map(([k, v]) => k + ": " + (typeof v === "string" ? v : JSON.stringify(v))).join(" · ");
    timeline.append(element("li", { "data-step": entry.name || "" },
      element("strong", {}, entry.name || "(unnamed)"),
      element("div", { class: "when" }, (entry.date || "no date") + took),
      element("div", { class: "fields" }, fields)));
    previous = isNaN(when) ? previous : when;
  }
  // Where the doc goes next, from the pipeline's steps: the step that takes docs from its last one.
  const last = process.length ? process[process.length - 1].name : 0;
  const steps = state.status ? state.status.steps : [];
  const next = steps.filter((step) => !step.retired && step.after === last);
  const lastStep = steps.find((step) => step.name === last);
  if (next.length && doc.status === "good") {
    timeline.append(element("li", { class: "next" },
      element("strong", {}, "waiting for " + next.map((step) => step.name).join(" or "))));
  } else if (process.length === 0) {
    timeline.append(element("li", {}, "no step yet"));
  } else if (doc.status === "good" && lastStep && lastStep.retired) {
    timeline.append(element("li", { class: "next" }, element("strong", {},
      "stranded: " + last + " is retired (not in pipeline.json) and no step takes docs after it")));
  } else if (doc.status === "good" && lastStep && lastStep.after !== null) {
    timeline.append(element("li", { class: "next" }, element("strong", {}, "finished: passed every step")));
  }
  const failures = Array.isArray(doc.edw_failures) ? doc.edw_failures : [];
  $("doc-failures-box").hidden = failures.length === 0;
  $("doc-failures").replaceChildren(...failures.map((f) => element("li", {},
    element("strong", {}, f.step + " attempt " + f.attempt + (f.retried ? " (retried)" : "")),
    element("div", { class: "when" }, (f.time || "") + " on " + (f.worker || "?")),
    element("div", {}, f.message || ""),
    element("pre", { class: "traceback" }, f.detail || ""))));
  $("doc-json").textContent = JSON.stringify(doc, null, 2);
}

// ---- refresh and routing --------------------------------------------------------------------

async function refresh(force) {
  const status = await api("/api/status");
  const live = $("live");
  // The server reads the status again only after writes, and not more often than its cost
  // allows; the time says how fresh these counts are.
  const asOf = new Date(status.time).toLocaleTimeString();
  live.textContent = status.feed_error ? "live updates stopped: " + status.feed_error + " · counts of " + asOf
    : "live · counts of " + asOf;
  live.classList.toggle("stale", Boolean(status.feed_error));
  if (!force && status.version === state.version && state.status) return;
  state.status = status;
  state.version = status.version;
  $("database").textContent = status.database;
  drawStates(status);
  // A workflow of states alone has no steps: no diagram, plot or tabs to show.
  const statesOnly = status.steps.length === 0 && (status.states || []).length > 0;
  $("overview").hidden = statesOnly;
  $("tabs").hidden = statesOnly;
  const tabbed = tabSteps(status);
  if (!tabbed.some((step) => step.name === state.step)) {
    state.step = tabbed.length ? tabbed[0].name : null;
  }
  drawDiagram(status);
  drawRetired(status);
  drawReruns(status);
  drawPlot(status);
  drawTabs(status);
  drawWorkers();
  showRerunForm();
  $("step").hidden = !state.step;
  if (state.step && $("doc-view").hidden) await loadLists();
}

function route() {
  const hash = decodeURIComponent(location.hash.slice(1));
  showError(null);
  if (hash.startsWith("doc/")) {
    refresh(true).then(() => showDoc(hash.slice(4))).catch(showError);
    return;
  }
  $("doc-view").hidden = true;
  $("pipeline-view").hidden = false;
  if (hash.startsWith("step/")) state.step = hash.slice(5);
  refresh(true).then(() => { if (state.step) selectStep(state.step); }).catch(showError);
}

$("retry-button").addEventListener("click", () => retryShown());
window.addEventListener("hashchange", route);
window.addEventListener("DOMContentLoaded", () => { setupReruns(); route(); });
setInterval(() => {
  refresh(false).then(() => showError(null)).catch((error) => {
    $("live").classList.add("stale");
    showError(error);
  });
}, pollMs);
