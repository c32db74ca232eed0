// The status page in headless Chromium: the pipeline drawn as a graph (a box per step, arrows as
// `after` says, a branch's steps side by side, the ends with their finished docs, retired steps
// apart, rates with the time they cover), the tab headings show the database's counts, a failed
// doc shows its traceback, and retry takes it out of the failed list. Screenshots go to ARTIFACTS.
// Usage: node status_page.mjs URL ARTIFACTS EXPECTED_JSON
//   EXPECTED_JSON: {"steps": {"<name>": {"total": n, "failed": n}}, "failed_step": "<name>",
//                   "traceback": "<text the failed doc's detail holds>", "graph": {...}}
//   (status_page.sh gives them all)
import { checker, launchChromium } from "./harness.mjs";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";

const [url, artifacts, expectedText] = process.argv.slice(2);
const expected = JSON.parse(expectedText);
mkdirSync(artifacts, { recursive: true });

const browser = await launchChromium();
const { check, failures } = checker();

try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  page.on("pageerror", (error) => errors.push(error.message));
  await page.goto(url);
  await page.waitForSelector("#tabs button[data-step]");

  await check("the tab headings show each step's total and failed counts", async () => {
    for (const [name, counts] of Object.entries(expected.steps)) {
      const tab = page.locator(`#tabs button[data-step="${name}"]`);
      assert.equal(await tab.locator(".count-total").textContent(), String(counts.total), name + " total");
      assert.equal(await tab.locator(".count-failed").textContent(), String(counts.failed), name + " failed");
    }
  });
  await page.screenshot({ path: path.join(artifacts, "status-page.png"), fullPage: true });

  const graph = expected.graph;
  const stepBox = (name) => page.locator(`#diagram g[data-kind="step"][data-node="${name}"]`);
  await check("the graph has a box per step of the pipeline, and none for a retired step", async () => {
    for (const name of graph.steps) assert.equal(await stepBox(name).count(), 1, name);
    assert.equal(await page.locator("#diagram g[data-kind=step]").count(), graph.steps.length);
    for (const name of Object.keys(graph.retired)) {
      assert.equal(await page.locator(`#diagram g[data-node="${name}"]`).count(), 0, name);
    }
  });

  await check("the graph's arrows are the steps' after, both arrows of the branch included", async () => {
    for (const [from, to] of graph.edges) {
      assert.equal(await page.locator(`#diagram path.edge[data-from="${from}"][data-to="${to}"]`).count(),
        1, from + " -> " + to);
    }
    assert.equal(await page.locator("#diagram path.edge").count(), graph.edges.length);
  });

  await check("a branch's steps stand one above the other, after their common step", async () => {
    const [common, first, second] = graph.branch;
    const [a, b, c] = await Promise.all([common, first, second].map((name) => stepBox(name).boundingBox()));
    assert.ok(Math.abs(b.x + b.width / 2 - (c.x + c.width / 2)) < 1, `columns ${b.x} and ${c.x}`);
    assert.ok(b.y + b.height <= c.y || c.y + c.height <= b.y, "the two boxes overlap");
    assert.ok(a.x + a.width < Math.min(b.x, c.x), "the common step is not before the branch");
    const middle = (b.y + b.height / 2 + c.y + c.height / 2) / 2;
    assert.ok(Math.abs(a.y + a.height / 2 - middle) < 1, "the common step is not level with the branch");
  });

  await check("each end of the pipeline shows the docs finished there, and the total", async () => {
    for (const [after, docs] of Object.entries(graph.finished)) {
      const box = page.locator(`#diagram g[data-kind="finished"][data-after="${after}"]`);
      assert.equal(await box.locator("text.line").textContent(), docs + " docs", after);
    }
    assert.equal(await page.locator("#finished-total").textContent(), graph.finished_total);
  });

  await check("a retired step is listed apart, with its done and stranded docs", async () => {
    for (const [name, counts] of Object.entries(graph.retired)) {
      const cells = page.locator(`#retired tr[data-step="${name}"] td`);
      assert.equal(await cells.nth(1).textContent(), counts.done, name + " done");
      assert.equal(await cells.nth(2).textContent(), counts.stranded, name + " stranded");
    }
    assert.ok(await page.locator("#retired-box").isVisible());
    assert.ok((await page.locator("#stranded-total").textContent()).startsWith("3 docs stranded"));
  });

  await check("a step's rate says the time it is taken over, since its first doc", async () => {
    for (const [name, want] of Object.entries(graph.rates)) {
      const text = await stepBox(name).locator("tspan.rate").textContent();
      const found = text.match(/^(\d+\.\d)\/(s|min) over (\d+(?:\.\d)?) (s|min)$/);
      assert.ok(found, name + ": " + text);
      const perSecond = Number(found[1]) / (found[2] === "s" ? 1 : 60);
      const seconds = Number(found[3]) * (found[4] === "s" ? 1 : 60);
      assert.equal(found[4], want.unit, name + ": " + text);
      // The rate and its span (both rounded) give back the docs done.
      assert.ok(Math.abs(perSecond * seconds - want.docs) <= 0.15 * want.docs + 0.1, name + ": " + text);
    }
  });

  await check("a paused step says so on its box", async () => {
    const box = stepBox(expected.paused_step);
    assert.equal(await box.locator("tspan.paused").textContent(), "paused");
    assert.match(await box.locator("text.pause-line title").textContent(), /browser test/);
  });

  await check("a click on a step's box opens its tab", async () => {
    await stepBox(graph.branch[2]).click();
    await page.waitForSelector(`#tabs button[data-step="${graph.branch[2]}"][aria-selected="true"]`);
    assert.equal(await stepBox(graph.branch[2]).getAttribute("class"), "node step selected");
  });

  const step = expected.failed_step;
  await page.click(`#tabs button[data-step="${step}"]`);
  await check("the step's workers are listed with their state", async () => {
    await page.waitForSelector("#workers-box:not([hidden])");
    const rows = page.locator("#workers tbody tr[data-worker]");
    assert.equal(await rows.count(), 1);
    assert.equal(await rows.first().locator("td").nth(1).textContent(), expected.worker_state);
  });
  const failedRows = page.locator("#failed li[data-id]");
  await failedRows.first().waitFor();
  const before = await failedRows.count();
  const id = await failedRows.first().getAttribute("data-id");

  await check("a failed doc opens with its message and traceback", async () => {
    await failedRows.first().click();
    await page.waitForSelector("#failure:not([hidden])");
    assert.equal(await page.locator("#failure-doc").textContent(), id);
    const traceback = await page.locator("#failure-detail").textContent();
    assert.ok(traceback.includes(expected.traceback), "traceback: " + traceback);
    assert.notEqual((await page.locator("#failure-message").textContent()).trim(), "");
  });
  await page.screenshot({ path: path.join(artifacts, "failed-doc.png"), fullPage: true });

  await check("retry takes the doc out of the failed list", async () => {
    await page.click("#retry-button");
    await page.waitForFunction(
      (gone) => ![...document.querySelectorAll("#failed li[data-id]")].some((li) => li.dataset.id === gone),
      id, { timeout: 15000 });
    const failedCount = page.locator(`#tabs button[data-step="${step}"] .count-failed`);
    await page.waitForFunction(
      ([selector, count]) => document.querySelector(selector)?.textContent === String(count),
      [`#tabs button[data-step="${step}"] .count-failed`, before - 1], { timeout: 15000 });
    assert.equal(await failedCount.textContent(), String(before - 1));
  });
  await page.screenshot({ path: path.join(artifacts, "after-retry.png"), fullPage: true });

  await check("the document page shows the process history", async () => {
    await page.goto(url.replace(/\/?(\?.*)?$/, "/") + "#doc/" + encodeURIComponent(expected.done_doc));
    await page.waitForSelector("#timeline li[data-step]");
    const steps = await page.locator("#timeline li[data-step]").evaluateAll(
      (items) => items.map((item) => item.dataset.step));
    assert.deepEqual(steps, expected.done_doc_steps);
  });
  await page.screenshot({ path: path.join(artifacts, "document.png"), fullPage: true });

  await check("the page ran without script errors", async () => {
    assert.deepEqual(errors, []);
  });
} finally {
  await browser.close();
}
process.exit(failures() === 0 ? 0 : 1);
