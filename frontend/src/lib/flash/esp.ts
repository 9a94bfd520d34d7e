/**
 * Flashing an ESP32-family board over Web Serial with esptool-js: reset into the ROM bootloader,
 * detect the chip, load the flasher stub, optionally erase, write (compressed) with progress,
 * verify by MD5, and reset into the new image. Each step is named so a failure says which one
 * failed and how far the write got; the whole sequence can simply be run again.
 */
import { md5 } from "./md5";
import type { SerialPortLike } from "../serial/device";

export type FlashStep = "connect" | "stub" | "erase" | "write" | "verify" | "reset";

export const FLASH_STEPS: { step: FlashStep; title: string }[] = [
  { step: "connect", title: "Reset into the ROM bootloader and detect the chip" },
  { step: "stub", title: "Load the flasher stub" },
  { step: "erase", title: "Erase the whole flash" },
  { step: "write", title: "Write the image" },
  { step: "verify", title: "Verify (MD5 of the flash against the image)" },
  { step: "reset", title: "Reset the board into the new image" },
];

/** The chip as the bootloader describes it. */
export interface ChipInfo {
  name: string;
  description: string;
  features: string[];
  crystalMHz: number;
  mac: string;
  flashId: number | null;
}

export interface FlashOptions {
  image: Uint8Array;
  address: number;
  eraseAll: boolean;
  /** The baud rate to write at once the stub runs (the ROM bootloader talks at 115200). */
  baudRate: number;
  onStep(step: FlashStep): void;
  onChip(chip: ChipInfo): void;
  onProgress(written: number, total: number): void;
  onLog(line: string): void;
}

export interface FlashResult {
  chip: ChipInfo;
  md5: string;
  bytes: number;
  seconds: number;
}

/** A failed flash: the step, what went wrong, and for a write how far it got. */
export class FlashError extends Error {
  readonly step: FlashStep;
  readonly detail: string;
  readonly written: number | null;
  readonly total: number | null;

  constructor(step: FlashStep, detail: string, written: number | null = null, total: number | null = null) {
    super(describeFailure(step, detail, written, total));
    this.step = step;
    this.detail = detail;
    this.written = written;
    this.total = total;
  }
}

function describeFailure(step: FlashStep, detail: string, written: number | null, total: number | null): string {
  const title = FLASH_STEPS.find((s) => s.step === step)?.title ?? step;
  const where = step === "write" && written != null && total ? ` after ${written} of ${total} bytes (${Math.floor((100 * written) / total)} %)` : "";
  return `${title} failed${where}: ${explain(detail)}`;
}

/** esptool-js's messages, with what a person can do about the common ones. */
function explain(detail: string): string {
  if (/Failed to connect/i.test(detail)) {
    return `${detail}. Is this the board's UART port? Hold BOOT, press and release RESET, release BOOT, then retry.`;
  }
  if (/device has been lost|WritableStream is locked|NetworkError|port is closed/i.test(detail)) {
    return "the serial port stopped working (the cable was pulled or the board was reset). Check the cable, then retry.";
  }
  if (/No serial data received|Serial data stream stopped|not connected/i.test(detail)) {
    return `${detail} The board stopped answering: check the cable (a pulled cable or a reset ends the session), then retry.`;
  }
  if (/MD5 of file does not match/i.test(detail)) {
    return `${detail} The flash does not hold the image: retry, with "Erase the whole flash first" if it happens again.`;
  }
  return detail;
}

/** Checks an image against the board before anything is sent; returns the problem or null. */
export function imageProblem(image: Uint8Array, address: number, flashBytes: number): string | null {
  if (image.length === 0) return "the image is empty";
  if (image[0] !== 0xe9) {
    return `this is not an ESP image: it starts with 0x${image[0].toString(16).padStart(2, "0")}, ESP images start with 0xE9`;
  }
  if (address % 0x1000 !== 0) return `the address 0x${address.toString(16)} is not at a 4 KB sector boundary`;
  if (address + image.length > flashBytes) {
    return `${image.length} bytes at 0x${address.toString(16)} end at 0x${(address + image.length).toString(16)}, past the board's ${flashBytes / 1048576} MB flash`;
  }
  return null;
}

/** The usual address of an image by its name: merged images hold the bootloader and go at 0. */
export function defaultAddress(fileName: string, appOffset: number): number {
  return /merged|factory|full/i.test(fileName) ? 0 : appOffset;
}

const ROM_BAUD = 115200;

/** Runs the whole sequence on an already chosen (closed) port; closes the port at the end. */
export async function flashEsp(port: SerialPortLike, options: FlashOptions): Promise<FlashResult> {
  // esptool-js is only needed here: loading it on demand keeps it out of every other page.
  const { ESPLoader, Transport } = await import("esptool-js");
  const started = performance.now();
  let partial = "";
  const terminal = {
    clean() {},
    writeLine(data: string) {
      options.onLog(partial + data);
      partial = "";
    },
    write(data: string) {
      const lines = (partial + data).split(/\r?\n/);
      partial = lines.pop() ?? "";
      for (const line of lines) if (line.trim()) options.onLog(line);
    },
  };
  const transport = new Transport(port as unknown as ConstructorParameters<typeof Transport>[0], false);
  const loader = new ESPLoader({ transport, baudrate: options.baudRate, romBaudrate: ROM_BAUD, terminal });
  // Where the sequence is, for the message if it fails.
  const at: { step: FlashStep; written: number | null; total: number | null } = { step: "connect", written: null, total: null };
  const enter = (next: FlashStep) => {
    at.step = next;
    options.onStep(next);
  };
  try {
    enter("connect");
    await loader.detectChip("default_reset");
    const chip: ChipInfo = {
      name: loader.chip.CHIP_NAME,
      description: await loader.chip.getChipDescription(loader),
      features: await loader.chip.getChipFeatures(loader),
      crystalMHz: await loader.chip.getCrystalFreq(loader),
      mac: await loader.chip.readMac(loader),
      flashId: null,
    };
    if (loader.chip.postConnect) await loader.chip.postConnect(loader);

    enter("stub");
    await loader.runStub();
    if (options.baudRate !== ROM_BAUD) await loader.changeBaud();
    chip.flashId = await loader.readFlashId();
    options.onChip(chip);
    if (chip.flashId === 0 || chip.flashId === 0xffffff) {
      throw new Error(`the flash chip does not answer (ID 0x${chip.flashId.toString(16)}); check what is connected to the flash pins`);
    }

    if (options.eraseAll) {
      enter("erase");
      await loader.eraseFlash();
    }

    enter("write");
    let digest = "";
    await loader.writeFlash({
      fileArray: [{ data: options.image, address: options.address }],
      flashMode: "keep",
      flashFreq: "keep",
      flashSize: "keep",
      eraseAll: false,
      compress: true,
      reportProgress: (_file, done, size) => {
        at.written = done;
        at.total = size;
        options.onProgress(done, size);
        // The MD5 comparison follows the last block inside writeFlash.
        if (done >= size) enter("verify");
      },
      calculateMD5Hash: (image) => {
        digest = md5(image);
        return digest;
      },
    });

    enter("reset");
    // EN low, then high with IO0 high (DTR off): the chip restarts from flash. (esptool-js's own
    // hard reset only releases RTS, which restarts nothing after its bootloader reset.)
    await transport.setDTR(false);
    await transport.setRTS(true);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await transport.setRTS(false);
    return { chip, md5: digest, bytes: options.image.length, seconds: (performance.now() - started) / 1000 };
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    options.onLog(`error: ${detail}`);
    throw new FlashError(at.step, detail, at.step === "write" ? at.written : null, at.step === "write" ? at.total : null);
  } finally {
    await release(port, transport);
  }
}

/**
 * Closes the port after a flash, also after a failed one. esptool-js's disconnect waits for the
 * streams to be unlocked, which never happens once a write failed on a lost device (the writer
 * stays locked), so it gets a moment and then the port is closed directly.
 */
async function release(port: SerialPortLike, transport: { disconnect(): Promise<void> }): Promise<void> {
  const closed = await Promise.race([
    transport.disconnect().then(
      () => true,
      () => false,
    ),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 1500)),
  ]);
  if (closed) return;
  try {
    await port.close();
  } catch {
    // A lost port cannot be closed; the browser releases it with the device.
  }
}
