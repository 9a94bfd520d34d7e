// End-to-end scenario for model optimization: structured pruning of the trained classifier, a bad
// setting refused beside the form, and the pruned run shown beside its baseline with the figures
// both firmware builds measured. Run by run.mjs after the anomaly scenario (the impulse's first
// learning block is the classifier, with a plain run to start from).
import assert from "node:assert/strict";
import { openSection as nav, shot } from "./helpers.mjs";

/** The cells of one figure's row in the side-by-side table: [figure, baseline, optimized, change]. */
async function figureRow(table, figure) {
  const row = table.locator("tbody tr").filter({ has: table.page().getByRole("cell", { name: figure, exact: true }) });
  return row.locator("td").allTextContents();
}

export const tests = [
  {
    name: "optimization: prune the classifier to half its units and compare it with its baseline",
    async fn(ctx) {
      const page = ctx.shared.page;
      await page.goto(ctx.shared.projectUrl);
      await nav(page, "Training");
      const block = page.locator("select[name=learn-block]");
      if (await block.count()) await block.selectOption({ index: 0 });
      const experiments = page.locator("section.card").filter({ has: page.getByRole("heading", { name: "Experiments" }) });
      await experiments.locator("tbody tr").first().waitFor();
      const newest = Number(/#(\d+)/.exec(await experiments.locator("tbody tr").first().textContent())[1]);

      // An optimization is a group of settings of the run; choosing one offers the run to
      // start from.
      const optimization = page.locator("fieldset[data-field=optimization]");
      await optimization.locator("[data-field=pruning] select").selectOption("structured");
      const sparsity = optimization.locator("[data-field=sparsity] input");
      const baseline = page.locator("select[name=baseline-run]");
      await baseline.waitFor();
      assert.match(await baseline.locator("option").first().textContent(), /^Automatic: the newest run without optimization/);
      // A sparsity that would remove every unit is flagged beside the field, and the run cannot
      // start until it is changed: the form says which setting, in words.
      await sparsity.fill("1");
      assert.equal(await optimization.locator("[data-field=sparsity] .field-error").textContent(), "must be at most 0.95");
      await page.getByText("To start: Optimization: Target sparsity must be at most 0.95.").waitFor();
      assert.equal(await page.getByRole("button", { name: "Start training" }).isDisabled(), true);

      await sparsity.fill("0.5");
      await optimization.locator("[data-field=fine_tune_epochs] input").fill("4");
      await page.getByRole("button", { name: "Start training" }).click();
      const run = newest + 1;
      await page.getByRole("heading", { name: `Training run #${run}` }).waitFor();
      await page.locator("[data-job-status=succeeded]").waitFor({ timeout: 300_000 });

      // Side by side with the baseline: accuracy in points, every device figure measured on the
      // virtual board for both models, the change of each.
      await page.getByRole("heading", { name: "Optimization: structured pruning 50 %" }).waitFor();
      const table = page.getByRole("table", { name: "Baseline and optimized model side by side" });
      await table.waitFor();
      assert.match(await page.getByText(/against its baseline, run #\d+; device figures measured on virtual-cortex-m4/).textContent(), /run #\d+/);
      const [, , , accuracyChange] = await figureRow(table, "int8 test accuracy");
      assert.match(accuracyChange, /^(0 points|[+−]\d+\.\d points)$/);
      for (const figure of ["MACs per window", "flash (impulse)", "instructions per window (model)"]) {
        const [, before, after, change] = await figureRow(table, figure);
        assert.ok(/\d/.test(before) && /\d/.test(after), `${figure}: both measured (${before}, ${after})`);
        assert.match(change, /^−\d+\.\d %$/, `${figure} falls: ${change}`);
      }
      await page.getByText("Pruning details").click();
      await shot(ctx, page, "28-optimization-pruned");
      // The experiments list names the optimization and its baseline.
      await experiments.getByRole("row", { name: new RegExp(`#${run} .*structured pruning 50 % vs #\\d+`) }).waitFor();
    },
  },
];
