// End-to-end scenario for anomaly detection on a device: add a K-means block to the impulse, train
// the classifier and the anomaly block, build firmware with both, and watch the virtual board
// answer anomaly scores that match the studio's. Run by run.mjs after the device scenarios (it
// leaves the impulse with two learning blocks and the newest runs on it).
import assert from "node:assert/strict";
import { openSection as nav, shot, studioQemuProcesses } from "./helpers.mjs";

export const tests = [
  {
    name: "anomaly detection on the device: train a K-means block, build it into the firmware, see its scores",
    async fn(ctx) {
      const page = ctx.shared.page;
      await page.goto(ctx.shared.projectUrl);
      await nav(page, "Impulse design");
      await page.getByRole("button", { name: "+ Add a learning block" }).click();
      const anomaly = page.getByRole("region", { name: "Learning block 2" });
      assert.equal(await anomaly.locator("select[name=learn-block]").inputValue(), "anomaly-kmeans");
      // A few clusters: the normal label has some 20 training windows.
      await anomaly.locator("[data-field=clusters] input").fill("4");
      await page.getByRole("button", { name: "Save impulse" }).click();
      await page.getByText(/Saved version \d+/).waitFor();

      // The classifier and the anomaly block of this version, each a run of its own.
      await nav(page, "Training");
      const block = page.locator("select[name=learn-block]");
      await block.waitFor();
      const experiments = page.locator("section.card").filter({ has: page.getByRole("heading", { name: "Experiments" }) });
      await experiments.waitFor();
      const rows = experiments.locator("tbody tr");
      const newest = (await rows.count()) ? Number(/#(\d+)/.exec(await rows.first().textContent())[1]) : 0;
      const classifierRun = newest + 1;
      await page.getByRole("button", { name: "Start training" }).click();
      await page.getByRole("heading", { name: `Training run #${classifierRun}` }).waitFor();
      await page.locator("[data-job-status=succeeded]").waitFor({ timeout: 150_000 });
      await page.getByRole("row", { name: new RegExp(`#${classifierRun} .* 1 · classification succeeded`) }).waitFor();
      await block.selectOption({ index: 1 });
      const normal = page.locator("fieldset.normal-labels");
      await normal.waitFor();
      // Only "badminton" is normal: the other motions should score as anomalous.
      for (const box of await normal.locator("label").all()) {
        if (!/badminton/.test(await box.textContent())) await box.locator("input").uncheck();
      }
      await page.getByRole("button", { name: "Start training" }).click();
      await page.getByRole("heading", { name: `Training run #${classifierRun + 1}` }).waitFor();
      await page.locator("[data-job-status=succeeded]").waitFor({ timeout: 120_000 });
      await page.getByRole("row", { name: new RegExp(`#${classifierRun + 1} .* 2 · anomaly`) }).waitFor();
      // The scores drawn: normal windows apart from the rest, the threshold marked; a table per label.
      await page.getByRole("img", { name: /Anomaly scores of the test windows/ }).waitFor();
      assert.match(await page.getByTestId("anomaly-results").textContent(), /normal labels \(trained on\)/);
      assert.equal(await page.getByRole("table", { name: "Anomaly scores per label" }).locator("tbody tr").first().locator("td").nth(1).textContent(), "yes");
      await shot(ctx, page, "27-anomaly-trained");

      // Firmware for the virtual Cortex-M4 with both.
      await nav(page, "Deployment");
      await page.locator("select[name=run]").selectOption(String(classifierRun));
      await page.getByRole("radio", { name: /Board firmware/ }).check();
      await page.locator("select[name=board]").selectOption("virtual-cortex-m4");
      await page.locator("select[name=anomaly-run]").selectOption(String(classifierRun + 1));
      const builds = page.locator("section.card").filter({ has: page.getByRole("heading", { name: "Builds" }) });
      await builds.waitFor();
      const buildId = String((await builds.locator("li.list-row").count()) + 1);
      await page.getByRole("button", { name: "Build" }).click();
      await page.getByRole("heading", { name: `Build #${buildId}: firmware for virtual-cortex-m4` }).waitFor();
      await page.locator("[data-job-status=succeeded]").waitFor({ timeout: 150_000 });
      assert.match(await page.getByTestId("deployment-anomaly").textContent(), new RegExp(`included, .*run #${classifierRun + 1}`));

      // On the virtual board: info names the block, live classification shows scores.
      await nav(page, "Virtual boards");
      await page.locator("select[name=deployment]").selectOption(buildId);
      await page.getByRole("button", { name: "Start virtual board" }).click();
      const info = page.getByTestId("board-info");
      await info.waitFor({ timeout: 30_000 });
      await info
        .locator("[data-metric=anomaly-block]")
        .getByText(/K-means/)
        .waitFor();
      await page.getByRole("button", { name: "Classify sample live" }).click();
      await page.getByTestId("live-anomaly").waitFor({ timeout: 30_000 });
      await page.getByRole("button", { name: "Classify sample live" }).waitFor({ timeout: 60_000 });
      assert.match(await page.getByTestId("live-anomaly").textContent(), /\d\.\d{3}anomaly score · (above|below) the threshold/);
      await page.getByRole("button", { name: "Run on-device testing" }).click();
      const result = page.getByTestId("device-test-result");
      await result.waitFor({ timeout: 120_000 });
      assert.equal(await result.locator("[data-metric=agreement] .stat-value").textContent(), "100.0 %");
      const anomalyStat = await result.locator("[data-metric=anomaly]").textContent();
      const [, difference, device, studio] =
        /^([\d.e+-]+)largest anomaly score difference · (\d+) of \d+ windows anomalous on the device, (\d+) in the studio/.exec(anomalyStat);
      assert.ok(Number(difference) <= 1e-3, `anomaly scores differ by ${difference}`);
      assert.equal(device, studio);
      assert.ok(Number(device) > 0, "the running test windows score as anomalous");
      await shot(ctx, page, "28-anomaly-on-device");
      await page.getByRole("button", { name: "Stop virtual board" }).click();
      await page.getByRole("button", { name: "Start virtual board" }).waitFor({ timeout: 20_000 });
      assert.deepEqual(studioQemuProcesses(ctx.dataDir), []);
    },
  },
];
