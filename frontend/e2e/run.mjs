// End-to-end suite runner: starts a real studio, drives Debian's Chromium with playwright-core,
// runs every test in order (they share one signed-in user), saves screenshots, stops the studio.
import { mkdir, rm } from "node:fs/promises";
import { resolve } from "node:path";
import { chromium } from "playwright-core";
import { startStudio } from "./studio.mjs";
import { tests as appTests } from "./app.e2e.mjs";
import { tests as deviceTests } from "./device.e2e.mjs";
import { studioQemuProcesses } from "./helpers.mjs";
import { tests as flashTests } from "./flash.e2e.mjs";
import { tests as anomalyTests } from "./anomaly.e2e.mjs";
import { tests as optimizeTests } from "./optimize.e2e.mjs";
import { tests as tunerTests } from "./tuner.e2e.mjs";
import { tests as modelTests } from "./models.e2e.mjs";
import { tests as fleetTests } from "./fleet.e2e.mjs";
import { tests as newcomerTests } from "./newcomer.e2e.mjs";

const SCREENSHOTS = resolve(import.meta.dirname, "../test-results/screenshots");
const CHROMIUM = process.env.TINYSTUDIO_CHROMIUM || "/usr/bin/chromium";
const ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];

// E2E_ONLY=<regex> runs the scenarios whose names match, after the two that sign up and create
// the project every scenario works in.
const only = process.env.E2E_ONLY ? new RegExp(process.env.E2E_ONLY, "i") : null;
const tests = [
  ...appTests,
  ...deviceTests,
  ...anomalyTests,
  ...optimizeTests,
  ...flashTests,
  ...tunerTests,
  ...modelTests,
  ...fleetTests,
  ...newcomerTests,
].filter((t, i) => !only || i < 2 || only.test(t.name));
const started = Date.now();
// Screenshots of an earlier run would be mistaken for this one's.
await rm(SCREENSHOTS, { recursive: true, force: true });
await mkdir(SCREENSHOTS, { recursive: true });
const studio = await startStudio();
console.log(`e2e: studio at ${studio.url} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
// Every page's console is watched: the studio's Content-Security-Policy must not break the app.
const cspViolations = new Set();
const newContext = browser.newContext.bind(browser);
browser.newContext = async (options) => {
  const context = await newContext(options);
  context.on("console", (message) => {
    if (/Content.Security.Policy/i.test(message.text())) cspViolations.add(message.text());
  });
  return context;
};
const ctx = { url: studio.url, dataDir: studio.dataDir, browser, screenshots: SCREENSHOTS, shared: {} };
let failed = 0;
let passed = 0;
try {
  for (const { name, fn } of tests) {
    // The scenarios build on each other: after a failure the rest would only fail for that reason.
    if (failed) {
      console.log(`  - ${name} (skipped)`);
      continue;
    }
    const t0 = Date.now();
    try {
      await fn(ctx);
      passed += 1;
      console.log(`  ✓ ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    } catch (err) {
      failed += 1;
      console.log(
        `  ✗ ${name}\n    ${String(err?.stack ?? err)
          .split("\n")
          .slice(0, 6)
          .join("\n    ")}`,
      );
      const page = ctx.shared.page;
      if (page) await page.screenshot({ path: `${SCREENSHOTS}/FAILED-${name.replace(/\W+/g, "-")}.png`, fullPage: true }).catch(() => {});
    }
  }
} finally {
  await browser.close();
  await studio.stop();
}
// Virtual boards run QEMU: none of this studio's may outlive it.
const orphans = studioQemuProcesses(studio.dataDir);
if (orphans.length) {
  console.log(`  ✗ QEMU processes left after the studio stopped:\n    ${orphans.join("\n    ")}`);
}
if (cspViolations.size) {
  console.log(`  ✗ Content-Security-Policy violations:\n    ${[...cspViolations].join("\n    ")}`);
}
const seconds = ((Date.now() - started) / 1000).toFixed(1);
console.log(`e2e: ${passed} passed, ${failed} failed, ${tests.length - passed - failed} skipped in ${seconds} s; screenshots in test-results/screenshots/`);
if (failed || orphans.length || cspViolations.size) {
  console.log("studio log (last lines):\n" + studio.log.join("").split("\n").slice(-30).join("\n"));
  process.exit(1);
}
