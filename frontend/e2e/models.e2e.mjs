// End-to-end scenario for bringing your own model: a file that is no model refused beside its
// field, the KWS reference model uploaded, imported and described, profiled on every board of the
// catalog, built as a C library, downloaded and deleted. Works in its own corner of the project
// (the Models page), so run.mjs may run it after any other scenario. The second brings back the
// int8 model of a run the studio trained (as if it came from elsewhere), runs it in the impulse
// and opens its deployment: it needs a trained run, as the earlier scenarios leave one.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { answerDialog, callApi, eventually, openSection as nav, shot } from "./helpers.mjs";

const KWS = resolve(import.meta.dirname, "../../tests/data/models/kws_ref_model.tflite");

export const tests = [
  {
    name: "models: upload the KWS model, profile it on every board, build its C library",
    async fn(ctx) {
      const page = ctx.shared.page;
      await page.goto(ctx.shared.projectUrl);
      await nav(page, "Models");
      await page.getByRole("heading", { name: "Models", exact: true }).waitFor();
      await page.getByText("No models yet").waitFor();
      const form = page.getByRole("form", { name: "Upload a model" });
      const upload = form.getByRole("button", { name: "Upload model" });

      // The form asks for a file; the server's refusal of one that is no model sits beside it.
      await upload.click();
      assert.match(await form.locator("[data-field=file] .field-error").textContent(), /^Choose a model file/);
      await form.locator("input[name=file]").setInputFiles({ name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("hello") });
      await upload.click();
      const fileError = form.locator("[data-field=file] .field-error");
      await fileError.filter({ hasText: "is not a model" }).waitFor();
      assert.equal(await form.locator("input[name=file]").getAttribute("aria-invalid"), "true");
      await shot(ctx, page, "35-models-refused");

      // The int8 KWS model: imported, then described.
      await form.locator("input[name=file]").setInputFiles(KWS);
      await form.locator("input[name=name]").fill("Keyword spotting");
      await upload.click();
      await page.getByRole("heading", { name: "Keyword spotting" }).waitFor();
      await page.locator("[data-testid=model-source] .badge", { hasText: "ready" }).waitFor({ timeout: 120_000 });
      assert.equal(await page.locator("[data-metric=macs] .stat-value").textContent(), "2.66 M");
      assert.equal(await page.locator("tr[data-tensor=input] td:nth-child(3)").textContent(), "1 × 49 × 10 × 1");
      assert.equal(await page.locator("li[data-op=DEPTHWISE_CONV_2D]").textContent(), "DEPTHWISE_CONV_2D × 4");
      assert.equal(await page.getByTestId("compiler-refusal").count(), 0);

      // Every board of the catalog: the virtual Cortex-M4 measured, fitting, its latency estimated.
      await page.getByRole("button", { name: "Profile on every board" }).click();
      const m4 = page.locator("tr[data-board=virtual-cortex-m4]");
      await m4.waitFor({ timeout: 300_000 });
      const cells = await m4.locator("td").allTextContents();
      assert.match(cells[0], /cortex-m4 · 25 MHz$/);
      assert.equal(cells[1], "virtual-cortex-m4");
      assert.match(cells[2], /^\d+\.\d KB [\d.]+ % of 4\.0 MBarena [\d.]+ KB \+ stack [\d.]+ KB$/);
      assert.match(cells[3], /^\d+\.\d KB [\d.]+ % of 4\.0 MBcode [\d.]+ KB \+ weights [\d.]+ KB$/);
      assert.match(cells[5], /^≈ \d+ ms$/);
      assert.equal(await m4.getByLabel("fits").textContent(), "✓");
      assert.match(await page.locator("tr[data-board=esp32-s3-devkitc-1]").textContent(), /Xtensa/);
      assert.match(await page.getByTestId("profile-summary").textContent(), /^Fits \d+ of \d+ boards measured; 1 board cannot be measured\.$/);
      await shot(ctx, page, "36-models-profiled");

      // The int8 model downloads as uploaded; the C library once built.
      const [int8] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Download int8 .tflite" }).click()]);
      assert.deepEqual(readFileSync(await int8.path()), readFileSync(KWS));
      await page.getByRole("button", { name: "Build C library" }).click();
      const library = page.getByRole("link", { name: "Download C library" });
      await library.waitFor({ timeout: 120_000 });
      const [zip] = await Promise.all([page.waitForEvent("download"), library.click()]);
      assert.equal(zip.suggestedFilename(), "Keyword spotting-c-library.zip");
      assert.equal(
        readFileSync(await zip.path())
          .subarray(0, 2)
          .toString(),
        "PK",
      );

      // Deleting asks first.
      await page.getByRole("button", { name: "Delete" }).click();
      await answerDialog(page, "Delete the model", /^Delete the model “Keyword spotting”\?$/);
      await page.getByText("No models yet").waitFor();
    },
  },
  {
    name: "models: a model that fits an impulse runs in it, is scored on the test set and deploys",
    async fn(ctx) {
      const page = ctx.shared.page;
      await page.goto(ctx.shared.projectUrl);
      const projectId = Number(new URL(page.url()).pathname.split("/")[2]);
      const runs = await callApi(page, "GET", `/api/projects/${projectId}/training-runs`);
      const trained = runs.find((r) => r.artifacts?.["model-int8.tflite"] && r.metrics?.kind === "classification");
      assert.ok(trained, "an earlier scenario trained a classifier");
      const bytes = await page.evaluate(async (url) => {
        const answer = await fetch(url);
        return Array.from(new Uint8Array(await answer.arrayBuffer()));
      }, `/api/projects/${projectId}/artifacts/${trained.artifacts["model-int8.tflite"]}/download`);

      await nav(page, "Models");
      const form = page.getByRole("form", { name: "Upload a model" });
      await form.locator("input[name=file]").setInputFiles({ name: "motion-int8.tflite", mimeType: "application/octet-stream", buffer: Buffer.from(bytes) });
      await form.locator("input[name=name]").fill("Motion from elsewhere");
      await form.getByRole("button", { name: "Upload model" }).click();
      await page.getByRole("heading", { name: "Motion from elsewhere" }).waitFor();
      await page.locator("[data-testid=model-source] .badge", { hasText: "ready" }).waitFor({ timeout: 120_000 });

      const use = page.getByRole("form", { name: "Use in an impulse" });
      await use.locator("select[name=impulse]").selectOption(String(trained.impulse_id));
      // Labels that do not match the model's outputs are refused, in words.
      await use.locator("input[name=labels]").fill("only-one");
      await use.getByRole("button", { name: "Run in impulse" }).click();
      await page.getByText(/scores \d+ classes; 1 labels given/).waitFor();
      await use.locator("input[name=labels]").fill("");
      await use.getByRole("button", { name: "Run in impulse" }).click();
      const result = page.getByTestId("model-run-result");
      await result.waitFor({ timeout: 180_000 });
      // An int8 upload has no float twin: only its int8 accuracy is given.
      const [, runId] = (await result.textContent()).match(/^Run #(\d+): int8 test accuracy \d+\.\d %\.\s/) ?? [];
      assert.ok(runId, await result.textContent());
      await shot(ctx, page, "37-models-in-impulse");

      // Its deployment page opens with that run chosen.
      await result.getByRole("link", { name: "Deploy it" }).click();
      await page.getByRole("heading", { name: "Deployment", exact: true }).waitFor();
      // The run's job has just succeeded: the page may list it only once it has read the job's status.
      await eventually(async () => assert.equal(await page.locator("select[name=run]").inputValue(), runId));
    },
  },
];
