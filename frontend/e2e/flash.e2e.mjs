// End-to-end scenarios for flashing real boards from the browser: an ESP32-S3 over Web Serial
// (esptool-js against the ROM bootloader simulator in espRomSimulator.mjs), a Pico by .uf2
// download, and images the page must refuse. Run by run.mjs after the device scenarios.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { EspRomSimulator, installEspSerialPort } from "./espRomSimulator.mjs";
import { shot } from "./helpers.mjs";

/** An ESP application image: the 0xE9 magic, then bytes that do not compress (so it takes many blocks). */
function espImage(bytes) {
  const image = Buffer.alloc(bytes);
  let x = 0x2545f491;
  for (let i = 0; i < bytes; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    image[i] = x >>> 24;
  }
  image[0] = 0xe9;
  return image;
}

/**
 * Runs `fn(page)` on the flash page of a signed-in browser context whose `navigator.serial`
 * reaches `sim` (when given); a failure leaves a screenshot and the simulator's story.
 */
async function onFlashPage(ctx, sim, failureShot, fn) {
  const state = await ctx.shared.page.context().storageState();
  const context = await ctx.browser.newContext({ storageState: state, viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  context.setDefaultTimeout(15_000);
  if (sim) {
    await context.exposeFunction("__espSim", (message) => sim.handle(message));
    await context.addInitScript(installEspSerialPort);
  }
  const page = await context.newPage();
  try {
    await page.goto(`${ctx.shared.projectUrl}/flash`);
    await page.getByRole("heading", { name: "Flash a board" }).waitFor();
    await fn(page);
  } catch (err) {
    await shot(ctx, page, failureShot).catch(() => {});
    const story = sim ? `\nsimulator: ${sim.events.join("; ")}; boots: ${sim.boots.join("; ")}` : "";
    throw new Error(`${err.message}${story}`, { cause: err });
  } finally {
    await context.close();
  }
}

export const tests = [
  {
    name: "flash an ESP32-S3 over Web Serial: a pulled cable says what failed, Retry writes and verifies",
    async fn(ctx) {
      const sim = new EspRomSimulator({ failAfterBlocks: 3 });
      await onFlashPage(ctx, sim, "FAILED-flash-esp32", async (page) => {
        assert.equal(await page.locator("select[name=board]").inputValue(), "esp32-s3-devkitc-1");
        // No Xtensa toolchain here: the page says so and points at the libraries.
        assert.match(
          await page.getByTestId("no-studio-firmware").textContent(),
          /cannot build firmware for the Espressif ESP32-S3.*toolchain.*C library or Arduino library/s,
        );
        assert.match(await page.getByTestId("flash-instructions").textContent(), /Export Compiled Binary/);
        const image = espImage(180_000);
        await page.locator("input[name=image]").setInputFiles({ name: "sketch.ino.bin", mimeType: "application/octet-stream", buffer: image });
        await page.getByTestId("image-summary").waitFor();
        assert.equal(await page.locator("input[name=address]").inputValue(), "0x10000");

        await page.getByRole("button", { name: "Connect and flash" }).click();
        const failure = page.getByTestId("flash-error");
        await failure.waitFor({ timeout: 60_000 });
        const message = await failure.textContent();
        assert.match(message, /Write the image failed after \d+ of \d+ bytes \(\d+ %\)/);
        assert.match(message, /Check the cable, then retry/);
        assert.ok(
          sim.events.some((e) => e.startsWith("cable pulled after 3 blocks")),
          sim.events.join("; "),
        );
        // The steps before the write are ticked, the write is marked failed.
        assert.equal(await page.locator(".flash-step[data-status=failed]").textContent(), "✗ Write the image");
        assert.equal(await page.locator(".flash-step[data-status=done]").count(), 2);
        await shot(ctx, page, "40-flash-esp32-failed-midway");

        await page.getByRole("button", { name: "Retry" }).click();
        const done = page.getByTestId("flash-done");
        await done.waitFor({ timeout: 90_000 });
        assert.match(await done.textContent(), /MD5 matches the image/);
        const chip = await page.getByTestId("chip-info").textContent();
        assert.match(chip, /ESP32-S3/);
        assert.match(chip, /f4:12:12:34:56:78/);
        assert.match(chip, /0x1740c8/);
        assert.equal(await page.getByRole("progressbar", { name: "Writing the image" }).getAttribute("aria-valuenow"), "100");
        assert.equal(await page.locator(".flash-step[data-status=done]").count(), 5);
        // What the board holds now is the image, byte for byte, and it restarted from flash.
        assert.ok(sim.read(0x10000, image.length).equals(image), "the simulated flash does not hold the image");
        assert.ok(sim.events.includes("stub running"));
        assert.ok(sim.events.includes("baud 921600"), sim.events.join("; "));
        assert.equal(sim.boots.at(-1), "flash: an application at 0x10000");
        await shot(ctx, page, "41-flash-esp32-done");
      });
    },
  },
  {
    name: "flash page: images that do not fit or are not ESP images are refused before connecting",
    async fn(ctx) {
      await onFlashPage(ctx, null, "FAILED-flash-refusals", async (page) => {
        const input = page.locator("input[name=image]");
        await input.setInputFiles({ name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("hello") });
        await page.getByText(/"notes.txt" is not a .bin file/).waitFor();
        await input.setInputFiles({ name: "random.bin", mimeType: "application/octet-stream", buffer: Buffer.from([0x7f, 0x45, 0x4c, 0x46]) });
        await page.getByText(/not an ESP image: it starts with 0x7f/).waitFor();
        assert.equal(await page.getByRole("button", { name: "Connect and flash" }).isDisabled(), true);
        await input.setInputFiles({ name: "sketch.ino.merged.bin", mimeType: "application/octet-stream", buffer: espImage(200_000) });
        await page
          .getByTestId("image-summary")
          .getByText(/sketch.ino.merged.bin/)
          .waitFor();
        // A merged image holds the bootloader and goes at 0.
        assert.equal(await page.locator("input[name=address]").inputValue(), "0x0");
        await page.locator("input[name=address]").fill("0x7f0000");
        await page.getByText(/200000 bytes at 0x7f0000 end at 0x820d40, past the board's 8 MB flash/).waitFor();
        assert.equal(await page.getByRole("button", { name: "Connect and flash" }).isDisabled(), true);
      });
    },
  },
  {
    name: "flash a Raspberry Pi Pico: a .bin becomes a .uf2 download with the BOOTSEL steps",
    async fn(ctx) {
      await onFlashPage(ctx, null, "FAILED-flash-pico", async (page) => {
        await page.locator("select[name=board]").selectOption("raspberry-pi-pico");
        assert.match(await page.getByTestId("flash-instructions").textContent(), /Hold the BOOTSEL button.*RPI-RP2/s);
        await page.locator("input[name=image]").setInputFiles({ name: "app.bin", mimeType: "application/octet-stream", buffer: Buffer.alloc(1000, 7) });
        assert.match(
          await page.getByTestId("uf2-summary").textContent(),
          /4 blocks, 1.0 KB for 0x10000000–0x10000400, family 0xe48bff56 \(converted from app.bin\)/,
        );
        const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download app.uf2" }).click()]);
        assert.equal(download.suggestedFilename(), "app.uf2");
        const file = await readFile(await download.path());
        assert.equal(file.length, 4 * 512);
        assert.equal(file.readUInt32LE(0), 0x0a324655);
        assert.equal(file.readUInt32LE(12), 0x10000000);
        assert.equal(file.readUInt32LE(28), 0xe48bff56);
        assert.equal(file[32], 7);
        await shot(ctx, page, "42-flash-pico-uf2");
        // A .uf2 built for another family is refused with both family IDs.
        const other = Buffer.from(file);
        for (let block = 0; block < 4; block++) other.writeUInt32LE(0x68ed2b88, block * 512 + 28);
        await page.locator("input[name=image]").setInputFiles({ name: "samd.uf2", mimeType: "application/octet-stream", buffer: other });
        await page.getByText(/this UF2 file is for family 0x68ed2b88; the Raspberry Pi Pico expects 0xe48bff56/).waitFor();
      });
    },
  },
];
