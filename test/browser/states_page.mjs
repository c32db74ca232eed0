// The status page of a workflow of states in headless Chromium: one row per group with the
// declared states in order and their counts, no pipeline diagram, and counts that follow a move
// made while the page is open. A screenshot goes to ARTIFACTS.
// Usage: MOVE_COMMAND="..." node states_page.mjs URL ARTIFACTS
//   (the database: ous-1..3 Processing, ous-4..5 Delivered; MOVE_COMMAND moves ous-1 to Delivered)
import { checker, launchChromium } from "./harness.mjs";
import assert from "node:assert/strict";
import { execSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";

const [url, artifacts] = process.argv.slice(2);
mkdirSync(artifacts, { recursive: true });

const browser = await launchChromium();
const { check, failures } = checker();
const count = (page, state) =>
  page.locator(`#state-groups [data-group="ous"] [data-state="${state}"] span`).textContent();

try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 600 } });
  const errors = [];
  page.on("pageerror", (error) => errors.push(error.message));
  await page.goto(url);
  await page.waitForSelector('#state-groups [data-group="ous"]');

  await check("the states are shown in their declared order, with their counts", async () => {
    const states = await page.locator('#state-groups [data-group="ous"] [data-state]')
      .evaluateAll((nodes) => nodes.map((node) => node.getAttribute("data-state")));
    // states.json declares ReadyForProcessing and Processing; Delivered is only seen in docs.
    assert.deepEqual(states, ["ReadyForProcessing", "Processing", "Delivered"]);
    assert.equal(await count(page, "ReadyForProcessing"), "0");
    assert.equal(await count(page, "Processing"), "3");
    assert.equal(await count(page, "Delivered"), "2");
  });
  await check("a workflow of states alone shows no pipeline diagram or step tabs", async () => {
    assert.equal(await page.locator("#overview").isHidden(), true);
    assert.equal(await page.locator("#tabs").isHidden(), true);
    assert.equal(await page.locator("#empty").isHidden(), true);
  });
  await page.screenshot({ path: path.join(artifacts, "states-page.png"), fullPage: true });

  execSync(process.env.MOVE_COMMAND);
  await check("a move made while the page is open shows within a few polls", async () => {
    await page.waitForFunction(() => {
      const node = document.querySelector('#state-groups [data-group="ous"] [data-state="Delivered"] span');
      return node && node.textContent === "3";
    }, null, { timeout: 15000 });
    assert.equal(await count(page, "Processing"), "2");
  });
  await check("the page had no script errors", async () => assert.deepEqual(errors, []));
} finally {
  await browser.close();
}
process.exit(failures() === 0 ? 0 : 1);
