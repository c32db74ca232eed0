// The pipeline as a graph, drawn in SVG: where docs come from, one box per step of the pipeline
// with its counts, an arrow for each step's `after`, and where docs end. Each step follows one
// position, so the steps make trees (one per source: new docs, or the docs a retired step left);
// they are laid out in columns by depth, a branch's steps one above the other, every end in the
// last column. Text goes in with textContent only.
"use strict";

const svgNs = "http://www.w3.org/2000/svg";
const nodeGapX = 44;
const nodeGapY = 14;
const lineHeight = 16;
const padX = 10;
const padY = 9;
const minWidth = { step: 150, source: 96, finished: 96 };

function svgElement(tag, attributes, ...children) {
  const node = document.createElementNS(svgNs, tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  for (const child of children) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const measure = document.createElement("canvas").getContext("2d");

// The width a line takes in the graph's font; `bold` for the step's name.
function lineWidth(text, bold) {
  const family = getComputedStyle(document.body).fontFamily;
  measure.font = (bold ? "600 13px " : "12px ") + family;
  return measure.measureText(text).width;
}

// "12.0/s over 4 s", "10.0/min over 5 min": a step's recent rate (status.steps[].rate), or null
// when it did nothing in the last 5 minutes. The same text as edw status's.
function rateText(rate) {
  if (!rate || !rate.docs) return null;
  const value = rate.per_second >= 1 ? rate.per_second.toFixed(1) + "/s"
    : (rate.per_second * 60).toFixed(1) + "/min";
  let span;
  if (rate.seconds < 90) {
    span = Math.round(rate.seconds) + " s";
  } else {
    const minutes = rate.seconds / 60;
    span = (Math.abs(minutes - Math.round(minutes)) < 0.05 ? Math.round(minutes) : minutes.toFixed(1)) + " min";
  }
  return value + " over " + span;
}

// A box's lines: [{parts: [[text, class]...]}], the first being its title.
function stepLines(step) {
  const lines = [{ parts: [[step.name, "name"]] }];
  lines.push({ parts: [[step.waiting + " waiting", ""], [" · ", ""], [step.in_progress + " running", step.in_progress ? "busy" : ""]] });
  const trouble = [[step.failed + " failed", step.failed ? "bad" : ""]];
  if (step.retrying) trouble.unshift([step.retrying + " retrying", "warn"], [" · ", ""]);
  lines.push({ parts: trouble });
  lines.push({ parts: [[step.done + " done", ""]] });
  const rate = rateText(step.rate);
  lines.push({ parts: [[rate || "none done in 5 min", rate ? "rate" : "quiet"]] });
  const records = step.worker_records || [];
  const live = records.filter((w) => w.state === "running" || w.state === "paused" || w.state === "stopping").length;
  const dead = records.filter((w) => w.state === "dead").length;
  const extra = [];
  if (records.length) {
    extra.push([live + (live === 1 ? " worker" : " workers"), "workers"]);
    if (dead) extra.push([" · " + dead + " dead", "bad"]);
  }
  if (step.paused) {
    if (extra.length) extra.push([" · ", ""]);
    extra.push(["paused", "paused"]);
  }
  if (extra.length) lines.push({ parts: extra });
  return lines;
}

// The nodes and edges of the live pipeline, placed: {nodes, edges, width, height}.
function layoutPipeline(status) {
  const live = status.steps.filter((step) => !step.retired && step.after !== null);
  const byName = new Map(live.map((step) => [step.name, step]));
  const positionOf = (after) => (typeof after === "string" ? after : "0");
  const parentOf = new Map();
  for (const step of live) {
    const position = positionOf(step.after);
    parentOf.set(step.name, byName.has(position) && position !== step.name ? "step:" + position : "source:" + position);
  }
  // A pipeline inferred from the docs (none declared) may loop; a loop starts from its position.
  for (const step of live) {
    const seen = new Set([step.name]);
    let parent = parentOf.get(step.name);
    while (parent.startsWith("step:")) {
      const name = parent.slice(5);
      if (name === step.name) { parentOf.set(step.name, "source:" + positionOf(step.after)); break; }
      if (seen.has(name)) break;
      seen.add(name);
      parent = parentOf.get(name);
    }
  }

  const nodes = new Map();
  const add = (id, node) => {
    if (!nodes.has(id)) nodes.set(id, Object.assign({ id, children: [] }, node));
    return nodes.get(id);
  };
  const stranded = status.stranded || {};
  const sourceNode = (position) => {
    if (position === "0") {
      return add("source:0", { kind: "source", key: "new", lines: [{ parts: [["new docs", "name"]] },
        { parts: [[(status.positions["0"] || 0) + " docs", ""]] }] });
    }
    return add("source:" + position, { kind: "source", key: "after:" + position, lines: [
      { parts: [["after " + position, "name"]] },
      { parts: [[(status.positions[position] || 0) + " docs", ""]] },
      { parts: [["not in the pipeline", "quiet"]] }] });
  };
  if (live.length === 0 || (status.positions["0"] || 0) > 0) sourceNode("0");
  for (const step of live) {
    const parent = parentOf.get(step.name);
    if (parent.startsWith("source:")) sourceNode(parent.slice(7));
  }
  for (const step of live) add("step:" + step.name, { kind: "step", key: step.name, step, lines: stepLines(step) });
  for (const step of live) nodes.get(parentOf.get(step.name)).children.push(nodes.get("step:" + step.name));
  const finishedAt = status.finished_at || {};
  for (const step of live) {
    const node = nodes.get("step:" + step.name);
    if (node.children.length > 0) continue;
    const docs = finishedAt[step.name] || 0;
    node.children.push(add("finished:" + step.name, { kind: "finished", key: "finished", after: step.name, lines: [
      { parts: [["finished", "name"]] }, { parts: [[docs + (docs === 1 ? " doc" : " docs"), ""]] }] }));
  }

  // Columns: sources first, each step one after its parent, the ends after the deepest step.
  const roots = [...nodes.values()].filter((node) => node.kind === "source");
  let deepest = 0;
  const placeColumn = (node, column) => {
    node.column = column;
    deepest = Math.max(deepest, column);
    for (const child of node.children) if (child.kind === "step") placeColumn(child, column + 1);
  };
  roots.forEach((root) => placeColumn(root, 0));
  for (const node of nodes.values()) if (node.kind === "finished") node.column = deepest + 1;

  // Sizes, from the text each box holds.
  for (const node of nodes.values()) {
    const widest = Math.max(...node.lines.map((line, index) =>
      lineWidth(line.parts.map((part) => part[0]).join(""), index === 0)));
    node.width = Math.ceil(Math.max(minWidth[node.kind], widest + 2 * padX));
    node.height = node.lines.length * lineHeight + 2 * padY;
  }
  const columns = deepest + 2;
  const columnWidth = new Array(columns).fill(0);
  for (const node of nodes.values()) columnWidth[node.column] = Math.max(columnWidth[node.column], node.width);
  const columnX = [];
  columnWidth.reduce((x, width, column) => { columnX[column] = x; return x + width + nodeGapX; }, 1);
  const rowHeight = Math.max(...[...nodes.values()].map((node) => node.height)) + nodeGapY;

  // Rows: each end (a leaf) gets a row of its own; a node sits level with the middle of its
  // children, so a chain stays on one line and a branch opens around its common step.
  let nextRow = 0;
  const placeRow = (node) => {
    if (node.children.length === 0) {
      node.row = nextRow++;
    } else {
      node.children.forEach(placeRow);
      node.row = (node.children[0].row + node.children[node.children.length - 1].row) / 2;
    }
  };
  roots.forEach(placeRow);
  for (const node of nodes.values()) {
    node.x = columnX[node.column] + (columnWidth[node.column] - node.width) / 2;
    node.y = 1 + node.row * rowHeight + (rowHeight - nodeGapY - node.height) / 2;
  }
  const edges = [];
  for (const node of nodes.values()) for (const child of node.children) edges.push({ from: node, to: child });
  const width = columnX[columns - 1] + columnWidth[columns - 1] + 2;
  const height = Math.max(1, nextRow) * rowHeight - nodeGapY + 2;
  return { nodes: [...nodes.values()], edges, width, height };
}

// Draws the live pipeline into `svg`; `selected` is the step whose tab is open, `onSelect(name)`
// is called when a step's box is clicked.
function drawPipelineGraph(svg, status, selected, onSelect) {
  const graph = layoutPipeline(status);
  svg.replaceChildren();
  svg.setAttribute("viewBox", "0 0 " + graph.width + " " + graph.height);
  svg.setAttribute("width", graph.width);
  svg.setAttribute("height", graph.height);
  // Shrunk to fit the page, but not below 85% (text would be too small to read): a longer
  // pipeline scrolls sideways instead.
  svg.style.minWidth = Math.round(graph.width * 0.85) + "px";
  svg.append(svgElement("defs", {}, svgElement("marker", {
    id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse",
  }, svgElement("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrowhead" }))));
  for (const { from, to } of graph.edges) {
    const x1 = from.x + from.width, y1 = from.y + from.height / 2;
    const x2 = to.x - 1, y2 = to.y + to.height / 2;
    const bend = Math.min(nodeGapX, (x2 - x1) / 2);
    svg.append(svgElement("path", {
      class: "edge" + (to.kind === "finished" ? " to-end" : ""),
      d: `M ${x1} ${y1} C ${x1 + bend} ${y1}, ${x2 - bend} ${y2}, ${x2} ${y2}`,
      "marker-end": "url(#arrow)", "data-from": from.key, "data-to": to.key,
    }));
  }
  for (const node of graph.nodes) {
    const step = node.step;
    const classes = ["node", node.kind];
    if (step && step.name === selected) classes.push("selected");
    if (step && step.failed) classes.push("has-failed");
    if (node.kind === "source" && node.key !== "new") classes.push("stranded");
    const group = svgElement("g", { class: classes.join(" "), "data-node": node.key, "data-kind": node.kind,
      transform: `translate(${node.x} ${node.y})` });
    if (node.after) group.setAttribute("data-after", node.after);
    group.append(svgElement("title", {}, tooltip(node, status)));
    group.append(svgElement("rect", { width: node.width, height: node.height, rx: 6 }));
    node.lines.forEach((line, index) => {
      const text = svgElement("text", { x: padX, y: padY + index * lineHeight + 12,
        class: index === 0 ? "name" : "line" });
      for (const [part, partClass] of line.parts) {
        const span = svgElement("tspan", partClass && index > 0 ? { class: partClass } : {}, part);
        text.append(span);
      }
      if (line.parts.some((part) => part[1] === "paused")) {
        text.classList.add("pause-line");
        text.append(svgElement("title", {}, pauseText(step)));
      }
      group.append(text);
    });
    if (step) group.addEventListener("click", () => onSelect(step.name));
    svg.append(group);
  }
}

function pauseText(step) {
  const paused = step.paused;
  return "paused since " + paused.since + (paused.by ? " by " + paused.by : "") +
    (paused.reason ? ": " + paused.reason : "") + " (edw resume " + step.name + ")";
}

function tooltip(node, status) {
  if (node.kind === "finished") return "docs whose last step is " + node.after + ", which no step follows";
  if (node.kind === "source") {
    return node.key === "new" ? "docs no step has taken yet"
      : "docs after " + node.id.slice(7) + ", a step not in the pipeline; a step of it takes them from there";
  }
  const step = node.step;
  const sharing = status.steps.filter((other) => !other.retired && other.after === step.after && other.name !== step.name);
  return step.name + " takes the docs after " + (step.after === 0 ? "no step (new docs)" : step.after) +
    (sharing.length ? ", as " + sharing.map((other) => other.name).join(", ") + " also does: each doc waits for one of them" : "") +
    " (click for its docs)";
}
