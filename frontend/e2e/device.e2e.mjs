// End-to-end scenarios for virtual boards, run by run.mjs after the app scenarios: by then the
// "Motion demo" project has a trained model and a firmware build for the virtual Cortex-M4.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";

/** Polls `check` until it stops throwing (or the time runs out). */
async function eventually(check, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

async function shot(ctx, page, name) {
  await page.screenshot({ path: `${ctx.screenshots}/${name}.png`, fullPage: true });
}

/** Command lines of the QEMU processes running this studio's firmware (its data directory). */
export function studioQemuProcesses(dataDir) {
  try {
    return execFileSync("pgrep", ["-af", "qemu-system-arm"], { encoding: "utf8" })
      .split("\n")
      .filter((line) => line.includes(dataDir));
  } catch {
    // pgrep exits with 1 when nothing matches.
    return [];
  }
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

export const tests = [
  {
    name: "virtual board: start it, see info, replay a sample and stream it",
    async fn(ctx) {
      const page = ctx.shared.page;
      await page.goto(ctx.shared.projectUrl);
      await page.getByRole("navigation", { name: "Project" }).getByRole("link", { name: "Virtual boards" }).click();
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
      await page.getByTestId("terminal").getByText(/"protocol":1/).waitFor();
      await page.getByText(/Connected over the serial WebSocket/).waitFor();
      await shot(ctx, page, "21-virtual-board-info");
      // A badminton sample goes into the board's replay buffer; `stream` plays it back.
      const sample = page.locator("select[name=sample]");
      const options = await sample.locator("option").allTextContents();
      const badminton = options.find((o) => /badminton/.test(o));
      assert.ok(badminton, `a badminton sample is listed (${options.join(" | ")})`);
      await sample.selectOption({ label: badminton });
      await page.getByRole("button", { name: "Replay sample" }).click();
      await page.getByTestId("replay-status").getByText(/\d+ readings × 6 axes at 10 Hz/).waitFor({ timeout: 20_000 });
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
    name: "virtual board: live classification, flash, on-device testing, stop",
    async fn(ctx) {
      const page = ctx.shared.page;
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
      await page.getByTestId("terminal").getByText(/flashed build #\d+/).waitFor({ timeout: 30_000 });
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
      await shot(ctx, page, "24-on-device-testing");
      // The same test from the page through the board's WebSocket: the browser cuts the windows
      // itself, so agreeing on every window also checks its windowing against the studio's.
      const serverWindows = await result.locator("[data-metric=device] .stat-label").textContent();
      await page.getByRole("button", { name: "Test through the connected board" }).click();
      await result.getByText(/windows sent from this page over the virtual board's WebSocket/).waitFor({ timeout: 60_000 });
      assert.equal(await result.locator("[data-metric=agreement] .stat-value").textContent(), "100.0 %");
      assert.equal(await result.locator("[data-metric=device] .stat-label").textContent(), serverWindows);
      await shot(ctx, page, "25-on-device-testing-from-the-page");
      await page.getByRole("button", { name: "Stop virtual board" }).click();
      await page.getByRole("button", { name: "Start virtual board" }).waitFor({ timeout: 20_000 });
      assert.deepEqual(await runningBoards(page, ctx.shared.projectUrl), []);
      await eventually(async () => assert.deepEqual(studioQemuProcesses(ctx.dataDir), []), 10_000);
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
        const board = await page.evaluate(async (id) => {
          const csrf = decodeURIComponent(document.cookie.split("; ").find((c) => c.startsWith("tinystudio_csrf=")).split("=")[1]);
          const answer = await fetch(`/api/projects/${id}/virtual-boards`, {
            method: "POST",
            headers: { "content-type": "application/json", "x-csrf-token": csrf },
            body: JSON.stringify({ board_id: "virtual-cortex-m4" }),
          });
          const vb = await answer.json();
          window.__bridgeUrl = `ws://${location.host}${vb.serial_url}`;
          return vb;
        }, projectId);
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
        await shot(ctx, page, "26-web-serial-board");
        await page.getByRole("button", { name: "Disconnect the board" }).click();
        await page.getByRole("button", { name: "Connect a board over Web Serial" }).waitFor();
        await page.evaluate(async ({ id, boardId }) => {
          const csrf = decodeURIComponent(document.cookie.split("; ").find((c) => c.startsWith("tinystudio_csrf=")).split("=")[1]);
          await fetch(`/api/projects/${id}/virtual-boards/${boardId}`, { method: "DELETE", headers: { "x-csrf-token": csrf } });
        }, { id: projectId, boardId: board.id });
        await eventually(async () => assert.deepEqual(studioQemuProcesses(ctx.dataDir), []), 10_000);
      } finally {
        await context.close();
      }
    },
  },
];
