// What the browser tests share: Debian's Chromium started headless through playwright-core (no
// browser download), and named checks that report each result and count the failures.
import { chromium } from "playwright-core";

export async function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu"],
  });
}

// check(what, body): runs body, prints "ok: what" or "FAIL: what: why"; failures() counts them.
export function checker() {
  let failed = 0;
  const check = async (what, body) => {
    try {
      await body();
      console.log("ok: " + what);
    } catch (error) {
      failed += 1;
      console.error("FAIL: " + what + ": " + error.message);
    }
  };
  return { check, failures: () => failed };
}
