// End-to-end scenarios for virtual boards, run by run.mjs after the app scenarios: by then the
// "Motion demo" project has a trained model and a firmware build for the virtual Cortex-M4.
import assert from "node:assert/strict";
import { callApi, eventually, openSection, shot, studioQemuProcesses } from "./helpers.mjs";

/** Readings of `axes` values shown in the terminal (lines the board sent). */
async function terminalReadings(page, axes) {
  const text = await page.getByTestId("terminal").textContent();
  const number = "-?[\\d.]+(?:[eE][-+]?\\d+)?";
  const line = new RegExp(`^< (${number}(?:,${number}){${axes - 1}})$`, "gm");
  return [...text.matchAll(line)].map((m) => m[1].split(",").map(Number));
}

/** The stored sample of the "Record a sample" note on the page: its id, and its values from the API. */
async function recordedSample(page, projectId) {
  const note = page.getByTestId("recorded-sample");
  await note.waitFor({ timeout: 20_000 });
  const href = await note.getByRole("link").first().getAttribute("href");
  const id = Number(/\/data\/(\d+)$/.exec(href)[1]);
  const sample = await callApi(page, "GET", `/api/projects/${projectId}/samples/${id}`);
  const raw = await callApi(page, "GET", `/api/projects/${projectId}/samples/${id}/values`);
  return { note: await note.textContent(), sample, values: raw.values };
}

/** Asserts that `recorded` is a stretch of `source` played in a loop (the stream loops its replay). */
function assertLoopedStretch(recorded, source) {
  const near = (a, b) => a.every((v, i) => Math.abs(v - b[i]) <= 1e-4 * Math.max(1, Math.abs(b[i])));
  const starts = source.flatMap((row, k) => (near(recorded[0], row) ? [k] : []));
  assert.ok(starts.length, `the first recorded reading ${recorded[0]} is a reading of the replayed signal`);
  assert.ok(
    starts.some((k) => recorded.every((row, i) => near(row, source[(k + i) % source.length]))),
    "the recorded readings follow each other as in the replayed signal",
  );
}

async function runningBoards(page, projectUrl) {
  const projectId = /\/projects\/(\d+)/.exec(projectUrl)[1];
  return page.evaluate(async (id) => {
    const answer = await fetch(`/api/projects/${id}/virtual-boards`);
    return (await answer.json()).filter((b) => b.state !== "stopped").map((b) => b.id);
  }, projectId);
}

/**
 * Init script: a Web Serial simulator whose port is a USB-serial bridge to a virtual board's
 * WebSocket (`window.__bridgeUrl`): bytes the page writes go to the board line by line, the
 * board's lines come back as bytes ending in CRLF. The page's own Web Serial transport is the
 * code under test; the answers are the real firmware's.
 */
function installSerialBridge() {
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const serial = {
    async requestPort() {
      let socket = null;
      let controller = null;
      let pending = "";
      const port = {
        readable: null,
        writable: null,
        async open(options) {
          port.baudRate = options.baudRate;
          socket = new WebSocket(window.__bridgeUrl);
          await new Promise((ok, fail) => {
            socket.onopen = ok;
            socket.onerror = () => fail(new DOMException("Failed to open serial port.", "NetworkError"));
          });
          port.readable = new ReadableStream({ start: (c) => void (controller = c) });
          socket.onmessage = (event) => controller.enqueue(encoder.encode(`${event.data}\r\n`));
          socket.onclose = () => {
            try {
              controller.error(new DOMException("The device has been lost.", "NetworkError"));
            } catch {
              // The page already cancelled the stream.
            }
          };
          port.writable = new WritableStream({
            write(chunk) {
              pending += decoder.decode(chunk);
              const lines = pending.split("\n");
              pending = lines.pop();
              for (const line of lines) socket.send(line.replace(/\r$/, ""));
            },
          });
        },
        async close() {
          socket?.close();
        },
      };
      return port;
    },
  };
  Object.defineProperty(Navigator.prototype, "serial", { configurable: true, get: () => serial });
}

/** The Deployment page's last on-device test of build `buildId`: who ran it where, and its scores stat. */
async function keptDeviceTest(page, buildId) {
  await openSection(page, "Deployment");
  const builds = page.locator("section.card").filter({ has: page.getByRole("heading", { name: "Builds" }) });
  const row = builds.locator("li.list-row").filter({ hasText: new RegExp(`^#${buildId} firmware`) });
  const show = row.getByRole("button", { name: "Show" });
  if (await show.isEnabled()) await show.click();
  await page.getByRole("heading", { name: new RegExp(`^Build #${buildId}: firmware`) }).waitFor();
  const source = page.getByTestId("device-test-source");
  await source.waitFor({ timeout: 20_000 });
  return {
    source: await source.textContent(),
    scores: await page.getByTestId("deployment-device-test").locator("[data-metric=scores] .stat-value").textContent(),
    agreement: await page.getByTestId("deployment-device-test").locator("[data-metric=agreement] .stat-value").textContent(),
  };
}

/** The windows a device test result counts, and its scores stat ("D of N"). */
async function testedWindows(result) {
  const windows = Number(/\((\d+) windows\)/.exec(await result.locator("[data-metric=device] .stat-label").textContent())[1]);
  return { windows, scores: await result.locator("[data-metric=scores] .stat-value").textContent() };
}

export const tests = [
  {
    name: "virtual board: start it, see info, replay a sample and stream it",
    async fn(ctx) {
      const page = ctx.shared.page;
      await page.goto(ctx.shared.projectUrl);
      await openSection(page, "Virtual boards");
      await page.getByRole("heading", { name: "Virtual boards" }).waitFor();
      const build = page.locator("select[name=deployment]");
      await build.waitFor();
      assert.match(await build.locator("option:checked").textContent(), /Build #\d+ · virtual-cortex-m4/);
      await shot(ctx, page, "20-virtual-boards");
      await page.getByRole("button", { name: "Start virtual board" }).click();
      const info = page.getByTestId("board-info");
      await info.waitFor({ timeout: 30_000 });
      assert.match(await info.textContent(), /virtual-cortex-m4/);
      assert.match(await info.textContent(), /\d+(\.\d)? KB\s*flash used/);
      await page
        .getByTestId("terminal")
        .getByText(/"protocol":1/)
        .waitFor();
      await page.getByText(/Connected over the serial WebSocket/).waitFor();
      await shot(ctx, page, "21-virtual-board-info");
      // A badminton sample goes into the board's replay buffer; `stream` plays it back.
      const sample = page.locator("select[name=replay-sample]");
      const options = await sample.locator("option").allTextContents();
      const badminton = options.find((o) => /badminton/.test(o));
      assert.ok(badminton, `a badminton sample is listed (${options.join(" | ")})`);
      ctx.shared.badmintonOption = badminton;
      await sample.selectOption({ label: badminton });
      await page.getByRole("button", { name: "Replay sample" }).click();
      await page
        .getByTestId("replay-status")
        .getByText(/\d+ readings × 6 axes at 10 Hz · sample /)
        .waitFor({ timeout: 20_000 });
      await page.getByRole("button", { name: "Stream", exact: true }).click();
      await page.getByRole("img", { name: /Stream from the board/ }).waitFor();
      // At 10 Hz a second of streaming gives about ten reading lines in the terminal.
      await eventually(async () => {
        const text = await page.getByTestId("terminal").textContent();
        assert.ok((text.match(/^< -?[\d.]+(,-?[\d.eE+-]+){5}$/gm) ?? []).length >= 8, "readings arrive");
      });
      await shot(ctx, page, "22-virtual-board-stream");
      await page.getByRole("button", { name: "Stop stream" }).click();
      await page.getByTestId("terminal").getByText("< OK stopped").waitFor();
    },
  },
  {
    name: "virtual board: record the stream as a labelled sample",
    async fn(ctx) {
      const page = ctx.shared.page;
      const projectId = /\/projects\/(\d+)/.exec(ctx.shared.projectUrl)[1];
      const bufferReadings = Number(/(\d+) readings ×/.exec(await page.getByTestId("replay-status").textContent())[1]);
      await page.getByRole("button", { name: "Stream", exact: true }).click();
      // The recording takes the replay's rate: 3 s at 10 Hz are 30 readings 100 ms apart.
      await page.getByTestId("record-rate").getByText("10 Hz (the replay's rate): 20 readings in 2 s.").waitFor();
      await page.locator("input[name=record-label]").fill("badminton");
      await page.locator("select[name=record-category]").selectOption("testing");
      await page.locator("input[name=record-seconds]").fill("3");
      await page.getByRole("button", { name: "Record", exact: true }).click();
      await page.getByRole("progressbar", { name: "Recording progress" }).waitFor();
      await page.getByText(/Recorded \d+ of 30 readings/).waitFor();
      await shot(ctx, page, "22b-virtual-board-recording");
      const { note, sample, values } = await recordedSample(page, projectId);
      assert.match(note, /^Stored badminton\.\S+: 30 readings, 100 ms apart \(10 Hz\), label badminton, testing\./);
      assert.equal(sample.length, 30);
      assert.equal(sample.interval_ms, 100);
      assert.equal(sample.label, "badminton");
      assert.equal(sample.category, "testing");
      assert.deepEqual(
        sample.sensors.map((s) => s.name),
        ["accX", "accY", "accZ", "gyrX", "gyrY", "gyrZ"],
      );
      // The readings are the replayed sample's, in order, from wherever the loop was.
      const sourceId = Number(await page.locator("select[name=replay-sample]").inputValue());
      const source = await callApi(page, "GET", `/api/projects/${projectId}/samples/${sourceId}/values`);
      assertLoopedStretch(values, source.values.slice(0, bufferReadings));
      await shot(ctx, page, "22c-virtual-board-recorded");
      // The new sample is in the dataset, so the page's lists offer it.
      assert.ok((await page.locator("select[name=sample] option").allTextContents()).some((o) => o.startsWith(`${sample.name} · badminton · testing`)));
      await page.getByRole("button", { name: "Stop stream" }).click();
      await page.getByRole("button", { name: "Stream", exact: true }).waitFor();
    },
  },
  {
    name: "virtual board: replay a CSV file and a drawn signal",
    async fn(ctx) {
      const page = ctx.shared.page;
      await page.getByRole("button", { name: "CSV file", exact: true }).click();
      const input = page.locator("input[name=replay-file]");
      // A file with a bad value is refused in the browser, naming the line.
      await input.setInputFiles({ name: "broken.csv", mimeType: "text/csv", buffer: Buffer.from("timestamp,x\n0,1\n50,oops\n") });
      await page.getByRole("alert").getByText('broken.csv cannot be replayed: line 3: "oops" in "x" is not a number.').waitFor();
      assert.equal(await page.getByRole("button", { name: "Replay file" }).isDisabled(), true);
      // 40 readings at 20 Hz (50 ms timestamps): x counts up, y = -x, z = x / 2.
      const rows = Array.from({ length: 40 }, (_, i) => `${i * 50},${i},${-i},${i / 2}`);
      await input.setInputFiles({ name: "ramp.csv", mimeType: "text/csv", buffer: Buffer.from(["timestamp,x (g),y (g),z (g)", ...rows].join("\n")) });
      await page.getByTestId("replay-file-summary").getByText("ramp.csv: 40 readings × 3 axes (x, y, z), 20 Hz from the timestamps").waitFor();
      await page.getByRole("img", { name: /Signal in the file/ }).waitFor();
      await page.getByRole("button", { name: "Replay file" }).click();
      await page.getByTestId("replay-status").getByText("40 readings × 3 axes at 20 Hz · file ramp.csv").waitFor({ timeout: 20_000 });
      await page.getByRole("button", { name: "Stream", exact: true }).click();
      await eventually(async () => {
        const readings = await terminalReadings(page, 3);
        assert.ok(readings.length >= 20, `readings of the file arrive (${readings.length})`);
        for (const [x, y, z] of readings) {
          assert.ok(Number.isInteger(x) && x >= 0 && x < 40 && y === -x && z === x / 2, `a reading of the file: ${[x, y, z]}`);
        }
      });
      await page.getByRole("img", { name: /Stream from the board/ }).waitFor();
      await shot(ctx, page, "22d-replay-csv-file");
      await page.getByRole("button", { name: "Stop stream" }).click();
      await page.getByRole("button", { name: "Stream", exact: true }).waitFor();

      // A drawing: one axis, 100 readings at 50 Hz, a wave drawn with the mouse from left to right.
      await page.getByRole("button", { name: "Drawing", exact: true }).click();
      await page.locator("input[name=drawing-readings]").fill("100");
      await page.locator("input[name=drawing-hz]").fill("50");
      assert.equal(await page.getByRole("button", { name: "Replay drawing" }).isDisabled(), true);
      const canvas = page.getByRole("img", { name: "Drawing of axis1: draw with the pointer from left to right" });
      // The mouse works in viewport coordinates: the whole canvas must be on screen.
      await canvas.scrollIntoViewIfNeeded();
      const box = await canvas.boundingBox();
      const at = (f) => ({ x: box.x + 2 + f * (box.width - 4), y: box.y + box.height * (0.5 - 0.4 * Math.sin(4 * Math.PI * f)) });
      await page.mouse.move(at(0).x, at(0).y);
      await page.mouse.down();
      for (let i = 1; i <= 40; i++) await page.mouse.move(at(i / 40).x, at(i / 40).y);
      await page.mouse.up();
      await page.getByText("100 readings at 50 Hz: 2 s, looped by the stream.").waitFor();
      await page.getByRole("button", { name: "Replay drawing" }).click();
      await page.getByTestId("replay-status").getByText("100 readings × 1 axis at 50 Hz · a drawing of one axis").waitFor({ timeout: 20_000 });
      await page.getByRole("button", { name: "Stream", exact: true }).click();
      await eventually(async () => {
        const readings = (await terminalReadings(page, 1)).map(([v]) => v);
        assert.ok(readings.length >= 40, `readings of the drawing arrive (${readings.length})`);
        // The wave spans most of the -10..10 range: up to about ±8.
        assert.ok(
          readings.every((v) => v >= -10 && v <= 10),
          "readings stay in the drawing's range",
        );
        assert.ok(
          Math.max(...readings) > 5 && Math.min(...readings) < -5,
          `the drawn wave goes up and down (${Math.min(...readings)}..${Math.max(...readings)})`,
        );
      });
      await page.getByTestId("record-rate").getByText("50 Hz (the replay's rate): 150 readings in 3 s.").waitFor();
      await shot(ctx, page, "22e-replay-drawing");
      await page.getByRole("button", { name: "Stop stream" }).click();
      await page.getByRole("button", { name: "Stream", exact: true }).waitFor();

      // A second axis drawn on its own: a line rising from the bottom to the top.
      await page.locator("select[name=drawing-axes]").selectOption("2");
      await page.getByRole("group", { name: "Draw on" }).getByRole("button", { name: "axis2" }).click();
      const secondCanvas = page.getByRole("img", { name: "Drawing of axis2: draw with the pointer from left to right" });
      await secondCanvas.scrollIntoViewIfNeeded();
      const second = await secondCanvas.boundingBox();
      // A few pixels inside the edges (the border and rounding): still the bottom and top values.
      await page.mouse.move(second.x + 3, second.y + second.height - 3);
      await page.mouse.down();
      await page.mouse.move(second.x + second.width - 3, second.y + 3, { steps: 10 });
      await page.mouse.up();
      await page.getByRole("button", { name: "Replay drawing" }).click();
      await page.getByTestId("replay-status").getByText("100 readings × 2 axes at 50 Hz · a drawing of 2 axes").waitFor({ timeout: 20_000 });
      await page.getByRole("button", { name: "Stream", exact: true }).click();
      await eventually(async () => {
        const readings = await terminalReadings(page, 2);
        assert.ok(readings.length >= 40, `readings of both drawn axes arrive (${readings.length})`);
        const rising = readings.map(([, v]) => v);
        assert.ok(
          Math.min(...rising) < -8 && Math.max(...rising) > 8,
          `the second axis rises through the range (${Math.min(...rising)}..${Math.max(...rising)})`,
        );
      });
      await shot(ctx, page, "22f-replay-drawing-two-axes");
      await page.getByRole("button", { name: "Stop stream" }).click();
      await page.getByRole("button", { name: "Stream", exact: true }).waitFor();
    },
  },
  {
    name: "virtual board: live classification, flash, on-device testing, stop",
    async fn(ctx) {
      const page = ctx.shared.page;
      await page.locator("select[name=sample]").selectOption({ label: ctx.shared.badmintonOption });
      await page.getByRole("button", { name: "Classify sample live" }).click();
      await page.getByTestId("live-label").waitFor({ timeout: 20_000 });
      await page.getByRole("button", { name: "Classify sample live" }).waitFor({ timeout: 30_000 });
      const label = await page.getByTestId("live-label").textContent();
      assert.ok(["badminton", "running", "jumping"].includes(label), `a label of the model: ${label}`);
      await page.getByText(/Every window \(\d+\)/).click();
      const rows = await page.getByRole("table", { name: "Predictions per window" }).locator("tbody tr").count();
      assert.ok(rows >= 2, `several windows classified (${rows})`);
      await page.getByRole("img", { name: /Scores per window/ }).waitFor();
      await page.getByTestId("window-highlight").waitFor();
      await shot(ctx, page, "23-live-classification");
      // Flashing restarts the board's QEMU with the image; the socket stays and sees it boot.
      await page.getByRole("button", { name: "Flash", exact: true }).click();
      await page
        .getByTestId("terminal")
        .getByText(/flashed build #\d+/)
        .waitFor({ timeout: 30_000 });
      await page.getByTestId("terminal").getByText("< OK tinystudio ready").waitFor();
      // On-device testing: every test window through the firmware, compared with the studio.
      await page.getByRole("button", { name: "Run on-device testing" }).click();
      const result = page.getByTestId("device-test-result");
      await result.waitFor({ timeout: 90_000 });
      assert.equal(await result.locator("[data-metric=agreement] .stat-value").textContent(), "100.0 %");
      assert.equal(
        await result.locator("[data-metric=device] .stat-value").textContent(),
        await result.locator("[data-metric=studio] .stat-value").textContent(),
      );
      await result.getByText("None: the device agrees with the studio on every window.").waitFor();
      const cells = (await result.locator("td.cell").allTextContents()).map(Number);
      assert.ok(cells.reduce((a, b) => a + b, 0) > 0, "the device confusion matrix counts windows");
      // Scores, not only labels: the studio's int8 scores are the device's on every window.
      const byStudio = await testedWindows(result);
      assert.ok(byStudio.windows > 0);
      assert.equal(byStudio.scores, `0 of ${byStudio.windows}`);
      await shot(ctx, page, "24-on-device-testing");
      // The same test from the page through the board's WebSocket: the browser cuts the windows
      // itself, so agreeing on every window also checks its windowing against the studio's.
      const serverWindows = await result.locator("[data-metric=device] .stat-label").textContent();
      await page.getByRole("button", { name: "Test through the connected board" }).click();
      await result.getByText(/windows sent from this page over the virtual board's WebSocket/).waitFor({ timeout: 60_000 });
      assert.equal(await result.locator("[data-metric=agreement] .stat-value").textContent(), "100.0 %");
      assert.equal(await result.locator("[data-metric=device] .stat-label").textContent(), serverWindows);
      // The page compares every score too, in the output's int8 steps, as the studio does.
      assert.equal((await testedWindows(result)).scores, `0 of ${byStudio.windows}`);
      assert.match(await result.locator("[data-metric=scores] .stat-label").textContent(), /largest difference 0\.00/);
      const kept = page.getByTestId("device-test-kept");
      await kept.waitFor({ timeout: 20_000 });
      const buildId = await page.locator("select[name=deployment]").inputValue();
      const boardName = /tested in the browser on (.+, virtual board \S+)\. The Deployment page/.exec(await kept.textContent())?.[1];
      assert.ok(boardName, `the kept note names the board: ${await kept.textContent()}`);
      assert.match(await kept.textContent(), new RegExp(`^Kept on build #${buildId} as its last on-device test`));
      await shot(ctx, page, "25-on-device-testing-from-the-page");
      await page.getByRole("button", { name: "Stop virtual board" }).click();
      await page.getByRole("button", { name: "Start virtual board" }).waitFor({ timeout: 20_000 });
      assert.deepEqual(await runningBoards(page, ctx.shared.projectUrl), []);
      await eventually(async () => assert.deepEqual(studioQemuProcesses(ctx.dataDir), []), 10_000);
      // The Deployment page shows the browser's test as the build's last one, named as such.
      const onDeployment = await keptDeviceTest(page, buildId);
      assert.equal(onDeployment.source, `Tested in the browser on ${boardName}`);
      assert.equal(onDeployment.scores, `0 of ${byStudio.windows}`);
      assert.equal(onDeployment.agreement, "100.0 %");
      await shot(ctx, page, "25b-deployment-kept-device-test");
      await openSection(page, "Virtual boards");
      await page.getByRole("button", { name: "Start virtual board" }).waitFor();
    },
  },
  {
    name: "virtual board: closing the page stops it",
    async fn(ctx) {
      const context = ctx.shared.page.context();
      const other = await context.newPage();
      await other.goto(`${ctx.shared.projectUrl}/virtual-boards`);
      await other.getByRole("button", { name: "Start virtual board" }).click();
      await other.getByTestId("board-info").waitFor({ timeout: 30_000 });
      assert.equal((await runningBoards(ctx.shared.page, ctx.shared.projectUrl)).length, 1);
      // The board's QEMU runs the firmware from this studio's data directory (so the checks
      // for leftovers below and in run.mjs look at the right processes).
      assert.equal(studioQemuProcesses(ctx.dataDir).length, 1);
      await other.close();
      await eventually(async () => assert.deepEqual(await runningBoards(ctx.shared.page, ctx.shared.projectUrl), []), 15_000);
      await eventually(async () => assert.deepEqual(studioQemuProcesses(ctx.dataDir), []), 10_000);
    },
  },
  {
    name: "a board on Web Serial: info, live classification and on-device testing",
    async fn(ctx) {
      const state = await ctx.shared.page.context().storageState();
      const context = await ctx.browser.newContext({ storageState: state, viewport: { width: 1280, height: 800 } });
      await context.addInitScript(installSerialBridge);
      context.setDefaultTimeout(10_000);
      const page = await context.newPage();
      try {
        await page.goto(`${ctx.shared.projectUrl}/virtual-boards`);
        await page.getByRole("button", { name: "Connect a board over Web Serial" }).waitFor();
        // The "real" board behind the cable is a virtual board started through the API.
        const projectId = /\/projects\/(\d+)/.exec(ctx.shared.projectUrl)[1];
        const board = await callApi(page, "POST", `/api/projects/${projectId}/virtual-boards`, { board_id: "virtual-cortex-m4" });
        await page.evaluate(
          (url) => {
            window.__bridgeUrl = url;
          },
          `ws://${new URL(ctx.url).host}${board.serial_url}`,
        );
        await page.getByRole("button", { name: "Connect a board over Web Serial" }).click();
        await page.getByRole("heading", { name: "Board on Web Serial" }).waitFor();
        const info = page.getByTestId("board-info");
        await info.waitFor({ timeout: 20_000 });
        assert.match(await info.textContent(), /virtual-cortex-m4/);
        await page.getByText("Connected over Web Serial", { exact: true }).waitFor();
        await page.getByRole("button", { name: "Classify sample live" }).click();
        await page.getByTestId("live-label").waitFor({ timeout: 20_000 });
        await page.getByRole("button", { name: "Classify sample live" }).waitFor({ timeout: 30_000 });
        await page.getByRole("button", { name: "Test through the connected board" }).click();
        const result = page.getByTestId("device-test-result");
        await result.getByText(/windows sent from this page over Web Serial/).waitFor({ timeout: 60_000 });
        assert.equal(await result.locator("[data-metric=agreement] .stat-value").textContent(), "100.0 %");
        const overSerial = await testedWindows(result);
        assert.ok(overSerial.windows > 0);
        assert.equal(overSerial.scores, `0 of ${overSerial.windows}`);
        const kept = page.getByTestId("device-test-kept");
        await kept.waitFor({ timeout: 20_000 });
        assert.match(await kept.textContent(), /tested in the browser on virtual-cortex-m4 over Web Serial\. /);
        const testedBuild = await page.locator("select[name=deployment]").inputValue();
        await shot(ctx, page, "26-web-serial-board");
        // The board's sensor plays a ramp (loaded the way its maker would, not through this page);
        // the page measures the stream's rate from the readings' arrival and records 2 s of it.
        const ramp = Array.from({ length: 40 }, (_, i) => [i, 100 + i]);
        await callApi(page, "POST", `/api/projects/${projectId}/virtual-boards/${board.id}/replay`, { values: ramp, hz: 10 });
        await page.getByRole("button", { name: "Stream", exact: true }).click();
        await page
          .getByTestId("record-rate")
          .getByText(/^\d+(\.\d+)? Hz \(measured from the readings' arrival\): \d+ readings in 2 s\.$/)
          .waitFor({ timeout: 15_000 });
        const measured = Number(/^[\d.]+/.exec(await page.getByTestId("record-rate").textContent())[0]);
        assert.ok(Math.abs(measured - 10) <= 0.5, `the measured rate is about 10 Hz (${measured})`);
        await page.locator("input[name=record-label]").fill("ramp");
        await page.getByRole("button", { name: "Record", exact: true }).click();
        const { note, sample, values } = await recordedSample(page, projectId);
        assert.match(note, /^Stored ramp\.\S+: \d+ readings/);
        assert.equal(sample.length, Math.round(2 * measured));
        assert.ok(Math.abs(sample.interval_ms - 1000 / measured) < 1e-6, `interval ${sample.interval_ms} ms at ${measured} Hz`);
        assert.equal(sample.category, "training");
        assertLoopedStretch(values, ramp);
        await shot(ctx, page, "26b-web-serial-recorded");
        // The ramp has 2 axes and the project's motion data 6: it goes to the trash so that later
        // training finds one shape (training refuses mixed axis counts).
        await callApi(page, "DELETE", `/api/projects/${projectId}/samples/${sample.id}`);
        await page.getByRole("button", { name: "Stop stream" }).click();
        await page.getByRole("button", { name: "Stream", exact: true }).waitFor();
        await page.getByRole("button", { name: "Disconnect the board" }).click();
        await page.getByRole("button", { name: "Connect a board over Web Serial" }).waitFor();
        await callApi(page, "DELETE", `/api/projects/${projectId}/virtual-boards/${board.id}`);
        await eventually(async () => assert.deepEqual(studioQemuProcesses(ctx.dataDir), []), 10_000);
        const onDeployment = await keptDeviceTest(page, testedBuild);
        assert.equal(onDeployment.source, "Tested in the browser on virtual-cortex-m4 over Web Serial");
        assert.equal(onDeployment.scores, `0 of ${overSerial.windows}`);
      } finally {
        await context.close();
      }
    },
  },
];
