// Reruns on the status page in headless Chromium: a step's "Rerun…" form counts the docs a
// selector would send back (dry run), then starts the rerun; the Reruns panel follows it to
// "done" and "run again N of N"; an interrupted rerun is resumed from its button; the API
// without the token refuses. Screenshots go to ARTIFACTS.
// Usage: node rerun_page.mjs URL ARTIFACTS SELECTOR DOCS  (rerun_page.sh gives them)
import { checker, launchChromium } from "./harness.mjs";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";

const [url, artifacts, selector, docsText] = process.argv.slice(2);
const docs = Number(docsText);
mkdirSync(artifacts, { recursive: true });

const browser = await launchChromium();
const { check, failures } = checker();

try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  const errors = [];
  page.on("pageerror", (error) => errors.push(error.message));
  await page.goto(url);
  await page.locator('#tabs button[data-step="signal_processing"]').click();
  await page.locator("#rerun-box summary").click();

  await check("the form refuses a rerun without a criterion, with the server's reason", async () => {
    await page.fill("#rerun-reason", "new calibration from the page");
    await page.locator("#rerun-dry").click();
    await page.waitForSelector("#rerun-result.bad");
    assert.match(await page.locator("#rerun-result").textContent(), /all: true/);
  });

  await check("a dry run shows how many docs would go back, and some of them", async () => {
    await page.fill("#rerun-selector", selector);
    await page.locator("#rerun-dry").click();
    await page.waitForSelector("#rerun-would");
    assert.equal(await page.locator("#rerun-would").textContent(), String(docs));
    assert.equal(await page.locator("#rerun-result a").count(), 5);
    assert.match(await page.locator("#rerun-result").textContent(), /would go back to wait at signal_processing/);
  });
  await page.screenshot({ path: path.join(artifacts, "rerun-form.png"), fullPage: true });

  let campaign = "";
  await check("Start answers with the campaign, which the Reruns panel shows done, run again by all", async () => {
    await page.locator("#rerun-start").click();
    await page.waitForSelector("#rerun-started");
    campaign = await page.locator("#rerun-started").textContent();
    assert.match(campaign, /^signal_processing-/);
    const card = page.locator(`#reruns li[data-campaign="${campaign}"]`);
    await card.waitFor();
    await page.waitForFunction((id) => {
      const item = document.querySelector(`#reruns li[data-campaign="${id}"]`);
      return item && item.classList.contains("done") &&
        /run again 8 of 8/.test(item.querySelector(".rerun-progress").textContent);
    }, campaign, { timeout: 60000 });
    assert.equal(await card.locator(".rerun-state").textContent(), "done");
    assert.match(await card.textContent(), /new calibration from the page/);
    assert.match(await card.textContent(), /by edw serve \(127\.0\.0\.1\)/);
    assert.equal(await card.locator(".bar i").evaluate((bar) => bar.style.width), "100%");
  });

  await check("a doc sent back has its rerun and the step run again", async () => {
    const doc = await page.evaluate(async () => (await fetch("/api/docs/ma22a000_005")).json());
    assert.equal(doc.edw_reruns[doc.edw_reruns.length - 1].campaign, campaign);
    assert.deepEqual(doc.process.map((entry) => entry.name + "@" + entry.step_version),
      ["move_to_sps@1.0", "signal_processing@2.0"]);
  });

  await check("an interrupted rerun has a Resume button, which takes it to done", async () => {
    const card = page.locator('#reruns li[data-campaign="by-hand"]');
    assert.equal(await card.locator(".rerun-state").textContent(), "interrupted");
    await page.screenshot({ path: path.join(artifacts, "reruns-panel-interrupted.png"), fullPage: true });
    await card.locator("button").click();
    await page.waitForFunction(() => {
      const item = document.querySelector('#reruns li[data-campaign="by-hand"]');
      return item && item.classList.contains("done") &&
        /run again 1 of 1/.test(item.querySelector(".rerun-progress").textContent);
    }, null, { timeout: 60000 });
  });
  await page.locator("#reruns-box").screenshot({ path: path.join(artifacts, "reruns-panel.png") });
  await page.screenshot({ path: path.join(artifacts, "reruns-page.png"), fullPage: true });

  await check("without the token the API refuses a rerun", async () => {
    const status = await page.evaluate(async () => (await fetch("/api/rerun", {
      method: "POST", credentials: "omit", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ step: "signal_processing", all: true, reason: "no token" }),
    })).status);
    assert.equal(status, 401);
  });

  await check("no script error on the page", async () => assert.deepEqual(errors, []));
} finally {
  await browser.close();
}
process.exit(failures() ? 1 : 0);
