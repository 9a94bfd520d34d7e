// The end-to-end scenarios, run in order against one real studio by run.mjs.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { answerDialog, eventually, openSection, shot } from "./helpers.mjs";

const DEMO = resolve(import.meta.dirname, "../../backend/datasets/demo_data/basic-motions/training");
const FAKE_SERIAL = resolve(import.meta.dirname, "fakeSerial.js");
const USER = { username: "ada", email: "ada@example.com", password: "correct horse battery" };

/** A mono 16-bit PCM WAV file holding a sine tone. */
function sineWav(rate, seconds, hz) {
  const n = Math.round(rate * seconds);
  const buffer = Buffer.alloc(44 + n * 2);
  buffer.write("RIFF", 0);
  buffer.writeUInt32LE(36 + n * 2, 4);
  buffer.write("WAVEfmt ", 8);
  buffer.writeUInt32LE(16, 16);
  buffer.writeUInt16LE(1, 20);
  buffer.writeUInt16LE(1, 22);
  buffer.writeUInt32LE(rate, 24);
  buffer.writeUInt32LE(rate * 2, 28);
  buffer.writeUInt16LE(2, 32);
  buffer.writeUInt16LE(16, 34);
  buffer.write("data", 36);
  buffer.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) buffer.writeInt16LE(Math.round(Math.sin((2 * Math.PI * hz * i) / rate) * 12000), 44 + i * 2);
  return buffer;
}

async function sampleCount(page) {
  const text = await page.getByRole("heading", { name: /^Samples \(\d+\)$/ }).textContent();
  return Number(/\((\d+)\)/.exec(text)[1]);
}

export const tests = [
  {
    name: "sign up and see the empty projects page",
    async fn(ctx) {
      const context = await ctx.browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
      await context.addInitScript({ path: FAKE_SERIAL });
      context.setDefaultTimeout(10_000);
      const page = await context.newPage();
      ctx.shared.page = page;
      page.on("pageerror", (err) => console.log(`    page error: ${err.message}`));
      await page.goto(`${ctx.url}/`);
      await page.waitForURL(/\/login/);
      await shot(ctx, page, "01-login");
      await page.getByRole("link", { name: "Create an account" }).click();
      // A weak password is refused with the server's message next to the field.
      await page.getByLabel("Username").fill(USER.username);
      await page.getByLabel("Email").fill(USER.email);
      await page.getByLabel("Password").fill("abc");
      await page.getByRole("button", { name: "Sign up" }).click();
      const problem = page.locator("#password-error");
      await problem.waitFor();
      assert.match(await problem.textContent(), /\w{4}/);
      assert.equal(await page.getByLabel("Password").getAttribute("aria-invalid"), "true");
      await shot(ctx, page, "01b-signup-error");
      await page.getByLabel("Password").fill(USER.password);
      await page.getByRole("button", { name: "Sign up" }).click();
      await page.getByRole("heading", { name: "Your projects" }).waitFor();
      await page.getByText("No projects yet").waitFor();
      await shot(ctx, page, "02-projects-empty");
    },
  },
  {
    name: "create a project and open its dashboard",
    async fn(ctx) {
      const page = ctx.shared.page;
      await page.getByLabel("Name").fill("Motion demo");
      await page.getByLabel("Description (optional)").fill("BasicMotions gestures");
      await page.getByRole("button", { name: "Create project" }).click();
      await page.waitForURL(/\/projects\/\d+$/);
      ctx.shared.projectUrl = page.url();
      await page.getByRole("heading", { name: "Motion demo" }).waitFor();
      await page.getByText("No data yet").waitFor();
      const nav = page.getByRole("navigation", { name: "Project" });
      for (const section of ["Dashboard", "Data acquisition", "Devices", "Impulse design", "Training", "Deployment", "Settings"]) {
        await nav.getByRole("link", { name: section }).waitFor();
      }
      await shot(ctx, page, "03-dashboard-empty");
    },
  },
  {
    name: "upload BasicMotions files with per-file results",
    async fn(ctx) {
      const page = ctx.shared.page;
      await openSection(page, "Data acquisition");
      await page.getByText("No samples yet").waitFor();
      const names = readdirSync(DEMO)
        .filter((n) => /^(badminton|running)\.00[1-3]\.csv$/.test(n))
        .sort();
      assert.equal(names.length, 6);
      const files = names.map((n) => ({ name: n, mimeType: "text/csv", buffer: readFileSync(resolve(DEMO, n)) }));
      await page
        .getByTestId("upload-input")
        .setInputFiles([...files, { name: "broken.csv", mimeType: "text/csv", buffer: Buffer.from("timestamp,accX\n0,1\n10,oops\n") }]);
      await page.getByText("6 stored · 1 refused").waitFor({ timeout: 30_000 });
      const refused = page.locator('li[data-filename="broken.csv"] .error-text');
      assert.match(await refused.textContent(), /\S/);
      await eventually(async () => assert.equal(await sampleCount(page), 6));
      await page.locator(".samples-table").getByRole("cell", { name: "running" }).first().waitFor();
      await shot(ctx, page, "04-data-acquisition");
      // Filters narrow the list.
      await page.locator("select[name=filter-label]").selectOption("running");
      await eventually(async () => assert.equal(await sampleCount(page), 3));
      await page.locator("select[name=filter-label]").selectOption("");
      await eventually(async () => assert.equal(await sampleCount(page), 6));
    },
  },
  {
    name: "bulk relabel, then delete and undo",
    async fn(ctx) {
      const page = ctx.shared.page;
      const row = (name) => page.locator(".samples-table tbody tr", { has: page.getByRole("link", { name, exact: true }) });
      const cells = (label) => page.locator(".samples-table").getByRole("cell", { name: label, exact: true });
      await row("running.001").getByRole("checkbox").check();
      await row("running.002").getByRole("checkbox").check();
      await page.getByText("2 selected").waitFor();
      await page.getByLabel("New label").fill("jumping");
      await page.getByRole("toolbar").getByRole("button", { name: "Relabel" }).click();
      await answerDialog(page, "Relabel 2 samples", /^Relabel 2 samples as “jumping”\?$/);
      await eventually(async () => assert.equal(await cells("jumping").count(), 2));
      await row("running.001").getByRole("checkbox").check();
      await page.getByRole("toolbar").getByRole("button", { name: "Delete" }).click();
      await answerDialog(page, "Move to the trash", /^Move 1 sample to the trash\?$/);
      await page.getByText("Moved 1 sample to the trash.").waitFor();
      await eventually(async () => assert.equal(await sampleCount(page), 5));
      await page.getByRole("button", { name: "Undo" }).click();
      await eventually(async () => assert.equal(await sampleCount(page), 6));
      // Put the label back so the dataset stays two balanced classes.
      await row("running.001").getByRole("checkbox").check();
      await row("running.002").getByRole("checkbox").check();
      await page.getByLabel("New label").fill("running");
      await page.getByRole("toolbar").getByRole("button", { name: "Relabel" }).click();
      await answerDialog(page, "Relabel 2 samples");
      await eventually(async () => assert.equal(await cells("running").count(), 3));
    },
  },
  {
    name: "open a sample and see every axis plotted",
    async fn(ctx) {
      const page = ctx.shared.page;
      await page.locator(".samples-table tbody tr").first().getByRole("link").click();
      await page.waitForURL(/\/data\/\d+$/);
      await page.getByRole("heading", { name: "Signal" }).waitFor();
      const lines = page.locator("figure.chart polyline");
      await eventually(async () => assert.equal(await lines.count(), 6));
      const points = (await lines.first().getAttribute("points")).trim().split(" ");
      assert.ok(points.length > 20, `a real line is drawn (${points.length} points)`);
      for (const axis of ["accX", "accY", "accZ", "gyrX", "gyrY", "gyrZ"]) {
        await page.locator("figcaption").getByText(axis, { exact: false }).first().waitFor();
      }
      // Zoom by dragging across the middle of the plot.
      const box = await page.locator("svg.chart-svg").boundingBox();
      await page.mouse.move(box.x + box.width * 0.4, box.y + box.height / 2);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2, { steps: 5 });
      await page.mouse.up();
      await page.getByRole("button", { name: "Reset zoom" }).waitFor();
      await shot(ctx, page, "05-sample-plot");
      await page.getByRole("button", { name: "Reset zoom" }).click();
      // Select the first half and crop: the sample becomes about 5 s long.
      await page.getByRole("button", { name: "Select to crop" }).click();
      await page.mouse.move(box.x + box.width * 0.07, box.y + box.height / 2);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2, { steps: 5 });
      await page.mouse.up();
      await page.getByText(/^Selected \d+–\d+ ms/).waitFor();
      await page.getByRole("button", { name: "Crop to selection" }).click();
      await page.getByText(/ · [45](\.\d)? s · 10 Hz · 6 axes/).waitFor();
    },
  },
  {
    name: "record a sample from a Web Serial board",
    async fn(ctx) {
      const page = ctx.shared.page;
      await openSection(page, "Devices");
      await page.getByLabel("Baud rate").selectOption("115200");
      await page.getByRole("button", { name: "Connect a board" }).click();
      await eventually(async () => assert.match(await page.getByTestId("stream-info").textContent(), /3 axes at 50 Hz/), 10_000);
      assert.deepEqual(await page.evaluate(() => window.__serial.opened), { baudRate: 115200 });
      await eventually(async () => assert.equal(await page.locator("figure.chart polyline").count(), 3));
      await page.getByLabel("Axis 1").fill("gx");
      await page.getByLabel("Label").fill("wave");
      await page.getByLabel("Length (ms)").fill("1000");
      await page.getByLabel("Category").selectOption("training");
      await shot(ctx, page, "06-devices-live");
      await page.getByRole("button", { name: "Start recording" }).click();
      await page.getByText(/Recorded 50 readings and stored/).waitFor({ timeout: 15_000 });
      await shot(ctx, page, "07-devices-recorded");
      await page.getByRole("link", { name: "Open it" }).click();
      await page.getByRole("heading", { name: "Signal" }).waitFor();
      await page.locator("figcaption").getByText("gx").waitFor();
      await page.getByText(/wave · training · 1\.0 s · 50 Hz · 3 axes/).waitFor();
      await openSection(page, "Data acquisition");
      await page.locator(".samples-table").getByRole("cell", { name: "wave", exact: true }).waitFor();
      await eventually(async () => assert.equal(await sampleCount(page), 7));
    },
  },
  {
    name: "unplugging mid-record stores nothing",
    async fn(ctx) {
      const page = ctx.shared.page;
      await openSection(page, "Devices");
      await page.getByRole("button", { name: "Connect a board" }).click();
      await page.getByTestId("stream-info").waitFor({ timeout: 10_000 });
      await page.getByLabel("Label").fill("cut");
      await page.getByLabel("Length (ms)").fill("5000");
      await page.getByRole("button", { name: "Start recording" }).click();
      await page.getByRole("progressbar", { name: "Recording progress" }).waitFor();
      await page.waitForTimeout(500);
      await page.evaluate(() => window.__serial.unplug());
      const alert = page.getByRole("alert");
      await eventually(async () => assert.match(await alert.textContent(), /disconnected.*Nothing was stored/));
      await page.getByRole("button", { name: "Connect a board" }).waitFor();
      await shot(ctx, page, "08-devices-unplugged");
      await openSection(page, "Data acquisition");
      await eventually(async () => assert.equal(await sampleCount(page), 7));
      assert.equal(await page.locator(".samples-table").getByRole("cell", { name: "cut", exact: true }).count(), 0);
    },
  },
  {
    name: "add a test set and drop the recording with other axes",
    async fn(ctx) {
      const page = ctx.shared.page;
      const row = (name) => page.locator(".samples-table tbody tr", { has: page.getByRole("link", { name, exact: false }) });
      await row("wave.").getByRole("checkbox").check();
      await page.getByRole("toolbar").getByRole("button", { name: "Delete" }).click();
      await answerDialog(page, "Move to the trash", /^Move 1 sample to the trash\?$/);
      await eventually(async () => assert.equal(await sampleCount(page), 6));
      await page.locator("select[name=upload-category]").selectOption("testing");
      const testing = resolve(DEMO, "../testing");
      // Dropped on the drop zone, as a user drags files from their desktop.
      const dropped = ["badminton.001.csv", "running.001.csv"].map((n) => ({ name: n, text: readFileSync(resolve(testing, n), "utf8") }));
      await page.locator(".dropzone").evaluate((zone, files) => {
        const transfer = new DataTransfer();
        for (const f of files) transfer.items.add(new File([f.text], f.name, { type: "text/csv" }));
        zone.dispatchEvent(new DragEvent("dragover", { bubbles: true, cancelable: true, dataTransfer: transfer }));
        zone.dispatchEvent(new DragEvent("drop", { bubbles: true, cancelable: true, dataTransfer: transfer }));
      }, dropped);
      await page.getByText("2 stored · 0 refused").waitFor({ timeout: 30_000 });
      await eventually(async () => assert.equal(await sampleCount(page), 8));
      await page.locator("select[name=filter-category]").selectOption("testing");
      await eventually(async () => assert.equal(await sampleCount(page), 2));
      await page.locator("select[name=filter-category]").selectOption("");
    },
  },
  {
    name: "trash view, dataset version and export",
    async fn(ctx) {
      const page = ctx.shared.page;
      await page.locator("input[name=filter-trash]").check();
      await eventually(async () => assert.equal(await sampleCount(page), 1));
      await page
        .locator(".samples-table")
        .getByRole("link", { name: /^wave\./ })
        .waitFor();
      await page.locator("input[name=filter-trash]").uncheck();
      await eventually(async () => assert.equal(await sampleCount(page), 8));
      await page.getByLabel("Version name").fill("first eight");
      await page.getByRole("button", { name: "Save version" }).click();
      await page.getByText(/first eight · 8 samples/).waitFor();
      await page.getByRole("button", { name: "Export dataset" }).click();
      const link = page.getByRole("link", { name: /^Download .*\.zip/ });
      await link.waitFor({ timeout: 60_000 });
      const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
      assert.equal(
        readFileSync(await download.path())
          .subarray(0, 2)
          .toString(),
        "PK",
      );
      await shot(ctx, page, "04b-dataset-tools");
    },
  },
  {
    name: "design an impulse from the blocks' schemas",
    async fn(ctx) {
      const page = ctx.shared.page;
      await openSection(page, "Impulse design");
      await page.getByRole("heading", { name: "Impulse design" }).waitFor();
      assert.equal(await page.locator("select[name=dsp-block]").inputValue(), "spectral-analysis");
      assert.equal(await page.locator("select[name=learn-block]").inputValue(), "classifier-dense");
      assert.equal(await page.locator("[data-field=frequency_hz] input").inputValue(), "10");
      // Defaults come from the schema: the dense network's training cycles start on auto.
      const epochs = page.locator("[data-field=epochs] input");
      assert.equal(await epochs.inputValue(), "");
      assert.equal(await epochs.getAttribute("placeholder"), "auto");
      // A cut-off above half the sampling rate is refused by the server, next to the field.
      await page.locator("[data-field=filter-type] select").selectOption("low");
      await page.locator("[data-field=filter-cutoff] input").fill("8");
      await page.getByRole("button", { name: "Save impulse" }).click();
      const fieldError = page.locator("[data-field=filter-cutoff] .field-error");
      await fieldError.waitFor();
      assert.match(await fieldError.textContent(), /half the sampling frequency/);
      await page.locator("[data-field=filter-type] select").selectOption("none");
      await page.locator("[data-field=filter-cutoff] input").fill("3");
      await epochs.fill("12");
      await page.getByRole("button", { name: "Save impulse" }).click();
      await page.getByText("Saved version").waitFor();
      await page.getByText(/20 readings × 6 axes per window/).waitFor();
      // DSP preview on a sample.
      await page.getByRole("button", { name: "Show features" }).click();
      await page.getByText(/Window 1 of \d+/).waitFor();
      assert.ok((await page.locator("figure.chart rect[fill='#4f46e5']").count()) > 10, "feature bars are drawn");
      await shot(ctx, page, "13-impulse-design");
      // Feature explorer.
      await page.getByRole("button", { name: "Generate features" }).click();
      await page.locator("[data-job-status=succeeded]").waitFor({ timeout: 90_000 });
      await eventually(async () => assert.ok((await page.locator("svg.scatter circle").count()) > 20), 20_000);
      await shot(ctx, page, "14-feature-explorer");
    },
  },
  {
    name: "several blocks, the version history and restoring a version",
    async fn(ctx) {
      const page = ctx.shared.page;
      const history = page.locator("section.card").filter({ has: page.getByRole("heading", { name: "Version history" }) });
      const row = (version) => history.locator(`tr[data-version="${version}"]`);
      await row(1).getByText("current").waitFor();
      // A second processing block: the server's refusal shows on that block's field, not the first's.
      await page.getByRole("button", { name: "+ Add a processing block" }).click();
      const second = page.getByRole("region", { name: "Processing block 2" });
      await second.locator("select[name=dsp-block]").selectOption("spectral-analysis");
      await second.locator("[data-field=filter-type] select").selectOption("low");
      await second.locator("[data-field=filter-cutoff] input").fill("8");
      await page.getByRole("button", { name: "Save impulse" }).click();
      const cutoffError = second.locator("[data-field=filter-cutoff] .field-error");
      await cutoffError.waitFor();
      assert.match(await cutoffError.textContent(), /half the sampling frequency/);
      assert.equal(await page.getByRole("region", { name: "Processing block 1" }).locator(".field-error").count(), 0);
      // Flatten next to the spectral analysis, an anomaly block next to the classifier.
      await second.locator("select[name=dsp-block]").selectOption("flatten");
      await page.getByRole("button", { name: "+ Add a learning block" }).click();
      const anomaly = page.getByRole("region", { name: "Learning block 2" });
      assert.equal(await anomaly.locator("select[name=learn-block]").inputValue(), "anomaly-kmeans");
      await anomaly.locator("[data-field=clusters] input").fill("4");
      await page.getByRole("region", { name: "Learning block 1" }).locator("[data-field=epochs] input").fill("15");
      await page.getByRole("button", { name: "Save impulse" }).click();
      await page.getByText("Saved version 2").waitFor();
      await page.getByText(/features 66, 42 → model input 108/).waitFor();
      // The preview runs the block picked.
      await page.locator("select[name=preview-block]").selectOption({ label: "2 · Flatten" });
      await page.getByRole("button", { name: "Show features" }).click();
      await page.getByText(/of processing block 2 · Flatten/).waitFor();
      // The feature explorer starts afresh for the new version and joins both blocks' features.
      await page.getByText("The saved version has 2 processing blocks").waitFor();
      assert.equal(await page.locator("svg.scatter circle").count(), 0);
      await page.getByRole("button", { name: "Generate features" }).click();
      await page.locator("[data-job-status=succeeded]").waitFor({ timeout: 90_000 });
      await eventually(async () => assert.ok((await page.locator("svg.scatter circle").count()) > 20), 20_000);
      // The new version, who saved it and what changed.
      await row(2).getByText("current").waitFor();
      await row(2).getByText("ada").waitFor();
      const changes = history.getByRole("list", { name: "Changes in version 2" });
      await changes.waitFor();
      const text = await changes.textContent();
      assert.match(text, /Processing block 2 · Flatten added/);
      assert.match(text, /Learning block 2 · Anomaly detection \(K-means\) added \(Cluster count 4/);
      assert.match(text, /Learning block 1 · Classification \(dense\) Training cycles: 12 → 15/);
      await shot(ctx, page, "14b-impulse-several-blocks");
      await history.screenshot({ path: `${ctx.screenshots}/14c-impulse-history.png` });
      // Restoring version 1 saves it again as version 3: one block of each, 12 training cycles.
      await history.getByRole("button", { name: "Restore version 1" }).click();
      // Restoring asks first, saying how much of the current design it changes.
      assert.match(
        await page.getByRole("alertdialog").textContent(),
        /\d+ changes to the current design \(version 2\): version 1's design is saved as version 3/,
      );
      await answerDialog(page, "Restore version 1", /^Restore version 1\?$/);
      await history.getByText("Restored version 1 as version 3").waitFor();
      await row(3).getByText("current").waitFor();
      await row(1).getByText("same as current").waitFor();
      const undone = await history.getByRole("list", { name: "Changes in version 3" }).textContent();
      assert.match(undone, /Processing block 2 · Flatten removed/);
      assert.match(undone, /Learning block 2 · Anomaly detection \(K-means\) removed/);
      assert.match(undone, /Training cycles: 15 → 12/);
      assert.equal(await page.locator("select[name=dsp-block]").count(), 1);
      assert.equal(await page.locator("select[name=learn-block]").count(), 1);
      assert.equal(await page.locator("[data-field=epochs] input").inputValue(), "12");
      // Earlier versions stay: version 2's changes can still be read.
      await history.getByRole("button", { name: "Changes in version 2" }).click();
      await history.getByRole("list", { name: "Changes in version 2" }).waitFor();
      await history.screenshot({ path: `${ctx.screenshots}/14d-impulse-restored.png` });
    },
  },
  {
    name: "train, watch the curves and read the confusion matrix",
    async fn(ctx) {
      const page = ctx.shared.page;
      await openSection(page, "Training");
      assert.equal(await page.locator("[data-field=epochs] input").inputValue(), "12");
      await page.getByRole("button", { name: "Start training" }).click();
      await page.locator("[data-job-status=succeeded]").waitFor({ timeout: 150_000 });
      await page.getByRole("img", { name: /Loss per epoch/ }).waitFor();
      const matrix = page.getByRole("table", { name: /Confusion matrix/ });
      await matrix.waitFor();
      const headers = await matrix.locator("thead th").allTextContents();
      assert.deepEqual(headers.slice(1, 3), ["badminton", "running"]);
      // Every test window lands in one cell: the matrix sums to the test windows.
      const counts = (await matrix.locator("td.cell").allTextContents()).map(Number);
      assert.ok(counts.reduce((a, b) => a + b, 0) > 0);
      await matrix.locator("td.cell button").first().click();
      await page.getByText(/badminton predicted as badminton: \d+ window/).waitFor();
      // A listed window opens its sample with the window highlighted.
      await page.locator(".cell-windows a").first().click();
      await page.getByTestId("window-highlight").waitFor();
      await page.getByText(/Highlighted: the window from \d+ ms to \d+ ms/).waitFor();
      await page.goBack();
      await matrix.waitFor();
      await page.getByText(/int8 \(quantized\) test accuracy/).waitFor();
      await shot(ctx, page, "15-training-results");
      // A second run can be cancelled while it trains; the first run stays the one with results.
      await page.getByRole("button", { name: "Start training" }).click();
      await page.getByRole("heading", { name: "Training run #2" }).waitFor();
      await page.getByRole("button", { name: "Cancel", exact: true }).click();
      await page.locator("[data-job-status=cancelled]").waitFor({ timeout: 60_000 });
      await page.getByRole("row", { name: /#2 Impulse 1 .*cancelled/ }).waitFor();
      await page.getByRole("row", { name: /#1 Impulse 1 .*succeeded \d/ }).waitFor();
    },
  },
  {
    name: "build a C library and download it",
    async fn(ctx) {
      const page = ctx.shared.page;
      await openSection(page, "Deployment");
      await page.getByRole("radio", { name: /C library/ }).check();
      await page.getByRole("button", { name: "Build" }).click();
      await page.locator("[data-job-status=succeeded]").waitFor({ timeout: 120_000 });
      const link = page.locator(".downloads a").first();
      const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
      const path = await download.path();
      const bytes = readFileSync(path);
      assert.equal(bytes.subarray(0, 2).toString(), "PK", "the download is a zip");
      assert.match(download.suggestedFilename(), /\.zip$/);
      await shot(ctx, page, "16-deployment");
    },
  },
  {
    name: "build firmware for a virtual Cortex-M4 and see its measured profile",
    async fn(ctx) {
      const page = ctx.shared.page;
      await page.getByRole("radio", { name: /Board firmware/ }).check();
      await page.locator("select[name=board]").selectOption("virtual-cortex-m4");
      await page.getByRole("button", { name: "Build" }).click();
      await page.getByRole("heading", { name: /Build #2: firmware for virtual-cortex-m4/ }).waitFor();
      await page.locator("[data-job-status=succeeded]").waitFor({ timeout: 150_000 });
      await page.getByRole("heading", { name: "Measured on the virtual board" }).waitFor();
      assert.match(await page.locator("[data-profile=flash]").textContent(), /\d+(\.\d)? KB\s*flash used of .* = model /);
      assert.match(await page.locator("[data-profile=ram]").textContent(), /RAM used of .* = arena .* \+ stack .* \+ static /);
      assert.match(await page.locator("[data-profile=latency]").textContent(), /\d+\.\d\d ms/);
      await page.getByText("Breakdown").click();
      assert.match(await page.locator("table.profile").textContent(), /flash model_weights/);
      assert.ok((await page.locator(".downloads a").count()) >= 1, "the image can be downloaded");
      await shot(ctx, page, "17-deployment-firmware");
    },
  },
  {
    name: "settings: API key shown once, HMAC key, invitations",
    async fn(ctx) {
      const page = ctx.shared.page;
      await openSection(page, "Settings");
      await page.getByLabel("Key name").fill("forwarder");
      await page.getByRole("button", { name: "Create API key" }).click();
      const key = await page.getByTestId("new-api-key").textContent();
      assert.ok(key.length > 20, "the full key is shown");
      await page.getByRole("button", { name: "Copy" }).first().waitFor();
      await page.getByText(`tinystudio forward --server ${ctx.url} --api-key ${key}`).waitFor();
      await page.getByRole("button", { name: "Export the whole project" }).click();
      const exported = page.getByRole("link", { name: /^Download .*\.zip/ });
      await exported.waitFor({ timeout: 60_000 });
      const [download] = await Promise.all([page.waitForEvent("download"), exported.click()]);
      assert.equal(
        readFileSync(await download.path())
          .subarray(0, 2)
          .toString(),
        "PK",
      );
      await page.getByRole("button", { name: "Show" }).click();
      assert.match(await page.locator(".secret-value").last().textContent(), /^[0-9a-f]{16,}$/i);
      // Inviting a name nobody has looks like any other invitation: the answer reveals no account.
      await page.getByLabel("Username or email").fill("nobody-here");
      await page.getByRole("button", { name: "Send invitation" }).click();
      await page.getByText(/nobody-here as editor/).waitFor();
      await page.getByLabel("Username or email").fill("grace@example.com");
      await page.getByRole("button", { name: "Send invitation" }).click();
      await page.getByText(/grace@example.com as editor/).waitFor();
      await shot(ctx, page, "09-settings");
      // The invitee signs up with the invited email and finds the invitation waiting.
      const grace = await ctx.browser.newContext({ viewport: { width: 1280, height: 800 } });
      const gracePage = await grace.newPage();
      gracePage.setDefaultTimeout(10_000);
      await gracePage.goto(`${ctx.url}/signup`);
      await gracePage.getByLabel("Username").fill("grace");
      await gracePage.getByLabel("Email").fill("grace@example.com");
      await gracePage.getByLabel("Password").fill("another fine passphrase");
      await gracePage.getByRole("button", { name: "Sign up" }).click();
      await gracePage.getByRole("heading", { name: "Invitations for you" }).waitFor();
      await gracePage.getByText(/ada invited you as editor/).waitFor();
      await shot(ctx, gracePage, "09b-invitation-for-invitee");
      await gracePage.getByRole("button", { name: "Accept" }).click();
      await gracePage.getByRole("link", { name: "Motion demo" }).waitFor();
      await grace.close();
      // The owner sees the new member, changes the role, then removes them.
      await page.reload();
      const role = page.getByLabel("Role of grace");
      await role.waitFor();
      assert.equal(await role.inputValue(), "editor");
      await role.selectOption("viewer");
      await page.reload();
      assert.equal(await page.getByLabel("Role of grace").inputValue(), "viewer");
      await page.getByRole("row", { name: /grace/ }).getByRole("button", { name: "Remove" }).click();
      await eventually(async () => assert.equal(await page.getByLabel("Role of grace").count(), 0));
      // Back on the dashboard the data and activity show up.
      await openSection(page, "Dashboard");
      await page.locator(".stat-value").first().getByText("8").waitFor();
      await shot(ctx, page, "10-dashboard");
    },
  },
  {
    name: "narrow window and a browser without Web Serial",
    async fn(ctx) {
      const page = ctx.shared.page;
      await page.setViewportSize({ width: 420, height: 860 });
      await openSection(page, "Data acquisition");
      await page.getByRole("heading", { name: /^Samples/ }).waitFor();
      await shot(ctx, page, "11-data-narrow");
      await openSection(page, "Training");
      await page.getByRole("table", { name: /Confusion matrix/ }).waitFor({ timeout: 20_000 });
      await shot(ctx, page, "11b-training-narrow");
      await page.setViewportSize({ width: 1280, height: 800 });
      const state = await page.context().storageState();
      const context = await ctx.browser.newContext({ storageState: state, viewport: { width: 1280, height: 800 } });
      // Firefox and Safari have no navigator.serial at all.
      await context.addInitScript(() => {
        delete Navigator.prototype.serial;
      });
      const other = await context.newPage();
      await other.goto(ctx.shared.projectUrl + "/devices");
      await other.getByText(/Firefox and Safari do not implement it/).waitFor();
      await shot(ctx, other, "12-devices-no-web-serial");
      await context.close();
      // Audio samples play in the browser.
      await page.goto(`${ctx.url}/`);
      await page.getByLabel("Name").fill("Sounds");
      await page.getByRole("button", { name: "Create project" }).click();
      await page.waitForURL(/\/projects\/\d+$/);
      await openSection(page, "Data acquisition");
      await page.getByTestId("upload-input").setInputFiles([{ name: "tone.001.wav", mimeType: "audio/wav", buffer: sineWav(8000, 0.5, 440) }]);
      await page.getByText("1 stored · 0 refused").waitFor({ timeout: 30_000 });
      await page.locator(".samples-table").getByRole("link", { name: /tone/ }).click();
      const audio = page.locator("audio");
      await audio.waitFor();
      const source = await audio.getAttribute("src");
      const answer = await page.evaluate(async (url) => {
        const r = await fetch(url);
        return { status: r.status, type: r.headers.get("content-type"), size: (await r.arrayBuffer()).byteLength };
      }, source);
      assert.equal(answer.status, 200);
      assert.match(answer.type, /audio\/wav/);
      assert.ok(answer.size > 8000, `a real WAV comes back (${answer.size} bytes)`);
      await shot(ctx, page, "18-audio-sample");
    },
  },
];
