// End-to-end scenario for the tuner: search impulses that fit the virtual Cortex-M4, watch the
// trials fill the table and the chart, compare with a cancelled random search, save the best
// trial and build it on the Deployment page. Run by run.mjs after every other scenario (it adds
// an impulse version and a training run to the BasicMotions project).
import assert from "node:assert/strict";
import { answerDialog, callApi, eventually, openSection as nav, shot } from "./helpers.mjs";

const TRIALS = 3;

/** The numbers in a table column, in the order the rows show them (null for a dash). */
async function column(table, index) {
  const cells = await table.locator(`tbody tr td:nth-child(${index})`).allTextContents();
  return cells.map((text) => (/\d/.test(text) ? Number.parseFloat(text) : null));
}

export const tests = [
  {
    name: "tuner: search impulses for the virtual Cortex-M4, use the best trial, deploy it",
    async fn(ctx) {
      const page = ctx.shared.page;
      await page.goto(ctx.shared.projectUrl);
      await nav(page, "Tuner");
      await page.getByRole("heading", { name: "Tuner", exact: true }).waitFor();
      await page.getByText("No searches yet").waitFor();
      const form = page.getByRole("form", { name: "New tuner run" });
      const board = form.locator("select[name=board_id]");

      // A board the studio cannot measure is refused by the server, beside the field.
      await board.selectOption("esp32-s3-devkitc-1");
      const boardError = form.locator("[data-field=board_id] .field-error");
      await boardError.waitFor();
      assert.match(await boardError.textContent(), /cannot be measured/);

      // The virtual Cortex-M4: budgets from the board (half its 4 MB), blocks that fit the data.
      await board.selectOption("virtual-cortex-m4");
      await eventually(async () => assert.equal(await form.locator("input[name=ram_bytes]").inputValue(), "2048"));
      assert.equal(await form.locator("input[name=flash_bytes]").inputValue(), "2048");
      assert.ok(Number(await form.locator("input[name=latency_ms]").inputValue()) > 0);
      const dspChoices = form.locator("[data-field=dsp_blocks] input[type=checkbox]");
      assert.ok((await dspChoices.count()) >= 2, "several processing blocks fit motion data");
      await form.locator("[data-field=learn_blocks] input[type=checkbox]").first().waitFor();

      // The form's own checks say what to change.
      const trials = form.locator("input[name=max_trials]");
      await trials.fill("0");
      await form.getByRole("button", { name: "Start search" }).click();
      assert.equal(await form.locator("[data-field=max_trials] .field-error").textContent(), "Choose a whole number of trials from 1 to 500.");
      assert.equal(await trials.getAttribute("aria-invalid"), "true");
      await shot(ctx, page, "29-tuner-form");
      await trials.fill(String(TRIALS));
      await form.locator("input[name=parallel_trials]").fill("2");
      await form.locator("input[name=max_epochs]").fill("6");
      await form.getByRole("button", { name: "Start search" }).click();
      await page.getByRole("heading", { name: "Tuner run #1" }).waitFor();

      // Live: trials fill the table, measured ones appear on the chart.
      const table = page.getByRole("table", { name: "Trials" });
      await eventually(async () => assert.ok((await table.locator("tbody tr").count()) >= 1), 30_000);
      const chart = page.getByTestId("pareto-chart");
      await chart.locator("circle[data-trial]").first().waitFor({ timeout: 300_000 });
      await shot(ctx, page, "30-tuner-running");
      await page.locator("[data-run-status=succeeded]").waitFor({ timeout: 600_000 });
      assert.equal(await table.locator("tbody tr").count(), TRIALS);
      assert.match(await page.getByTestId("run-progress").textContent(), new RegExp(`^${TRIALS} of ${TRIALS} trials done`));
      const note = await page.getByTestId("result-note").textContent();
      const best = Number(/^trial (\d+) is best: [\d.]+ % int8 validation accuracy/.exec(note)?.[1]);
      assert.ok(Number.isInteger(best), `the result names the best trial: ${note}`);
      await page.getByRole("heading", { name: `Best trial: ${best}` }).waitFor();
      assert.equal(await table.locator(`tr[data-trial="${best}"] [aria-label="fits every budget"]`).textContent(), "✓");
      // Both panels mark the best trial and draw the budgets.
      assert.equal(await chart.getByTestId("best-mark").count(), 2);
      // The virtual board's budgets lie far past these small trials: they are named at the edge.
      assert.deepEqual(await chart.getByTestId("budget-label").allTextContents(), ["RAM budget 2048.0 KB →", "latency budget 1000 ms →"]);
      assert.match(await chart.locator(`circle[data-trial="${best}"] title`).first().textContent(), new RegExp(`^Trial ${best} \\(best\\): `));

      // A trial the pruner stopped says when.
      for (const status of await table.locator("tr[data-status=pruned] .trial-status").allTextContents()) {
        assert.match(status, /^pruned at epoch \d+$/);
      }

      // Sorting by RAM orders the measured trials from the smallest.
      await table.getByRole("button", { name: /^RAM/ }).click();
      const ram = (await column(table, 7)).filter((v) => v !== null);
      assert.deepEqual(
        ram,
        [...ram].sort((a, b) => a - b),
      );
      await shot(ctx, page, "31-tuner-finished");

      // A random baseline, cancelled after a confirmation; the finished run keeps its trials.
      await form.locator("select[name=sampler]").selectOption("random");
      await form.getByRole("button", { name: "Start search" }).click();
      await page.getByRole("heading", { name: "Tuner run #2" }).waitFor();
      await page.getByRole("button", { name: "Cancel search" }).click();
      await answerDialog(page, "Cancel the search", /^Cancel this search after \d+ of \d+ trials\?$/);
      await page.locator("[data-run-status=cancelled]").waitFor({ timeout: 30_000 });
      const runs = page.getByRole("table", { name: "Tuner runs" });
      await runs.getByRole("row", { name: /#2 virtual-cortex-m4 random .* cancelled/ }).waitFor();
      await runs
        .getByRole("row", { name: /#1 virtual-cortex-m4 TPE/ })
        .getByRole("button", { name: "Show" })
        .click();
      await page.getByRole("heading", { name: "Tuner run #1" }).waitFor();
      assert.equal(await table.locator("tbody tr").count(), TRIALS);

      // The best trial becomes the impulse's next version with its trained model.
      await page.getByRole("button", { name: "Use this trial" }).click();
      const applied = page.getByTestId("trial-applied");
      await applied.waitFor({ timeout: 30_000 });
      const [, version, runId] = /Impulse v(\d+) saved, training run #(\d+)/.exec(await applied.textContent());
      assert.ok(Number(version) > 1);
      await shot(ctx, page, "32-tuner-applied");

      // On a phone-sized screen the page fits and the trial table scrolls sideways.
      await page.setViewportSize({ width: 390, height: 844 });
      await eventually(async () =>
        assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1), "no sideways scrolling of the page"),
      );
      assert.ok(await table.evaluate((t) => t.parentElement.scrollWidth > t.parentElement.clientWidth), "the trial table scrolls inside its frame");
      await shot(ctx, page, "33-tuner-narrow");
      await page.setViewportSize({ width: 1280, height: 800 });

      // Deployment builds the trial's model like any trained run.
      await applied.getByRole("link", { name: "Deployment" }).click();
      await page.getByRole("heading", { name: "Deployment" }).waitFor();
      await page.locator("select[name=run]").selectOption(runId);
      await page.getByRole("radio", { name: /Board firmware/ }).check();
      await page.locator("select[name=board]").selectOption("virtual-cortex-m4");
      const builds = page.locator("section.card").filter({ has: page.getByRole("heading", { name: "Builds" }) });
      // Earlier scenarios built here: the list is loaded once their rows show.
      await builds.locator("li.list-row").first().waitFor();
      const buildId = String((await builds.locator("li.list-row").count()) + 1);
      await page.getByRole("button", { name: "Build" }).click();
      await page.getByRole("heading", { name: `Build #${buildId}: firmware for virtual-cortex-m4` }).waitFor();
      await page.locator("[data-job-status=succeeded]").waitFor({ timeout: 150_000 });
      await page.getByRole("heading", { name: "Measured on the virtual board" }).waitFor();
      await page.getByText(/^Impulse alone/).waitFor();
      // The deployed firmware's impulse RAM and flash are the figures the tuner measured for the trial.
      const project = new URL(ctx.shared.projectUrl).pathname;
      const chosen = (await callApi(page, "GET", `/api${project}/tuner-runs/1`)).trials.find((t) => t.best);
      const { figures } = await callApi(page, "GET", `/api${project}/deployments/${buildId}`);
      assert.equal(figures.ram.impulse_bytes, chosen.ram_bytes);
      assert.equal(figures.flash.impulse_bytes, chosen.flash_bytes);
      await shot(ctx, page, "34-tuner-trial-deployed");
    },
  },
];
