// The status page in headless Chromium: the tab headings show the database's counts, a failed
// doc shows its traceback, and retry takes it out of the failed list. Screenshots go to ARTIFACTS.
// Usage: node status_page.mjs URL ARTIFACTS EXPECTED_JSON
//   EXPECTED_JSON: {"steps": {"<name>": {"total": n, "failed": n}}, "failed_step": "<name>",
//                   "traceback": "<text the failed doc's detail holds>"}
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

  await check("a paused step says so on its box", async () => {
    const box = page.locator(`#diagram [data-node="${expected.paused_step}"] .paused`);
    assert.equal(await box.textContent(), "paused");
    assert.match(await box.getAttribute("title"), /browser test/);
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
