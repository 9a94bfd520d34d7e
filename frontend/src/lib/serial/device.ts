/** A serial device over Web Serial: open with a baud rate, read text lines, notice unplugging. */
import { splitLines } from "./forwarder";

// The Web Serial API types (not in TypeScript's DOM library yet), reduced to what is used here.
export interface SerialPortLike {
  open(options: { baudRate: number }): Promise<void>;
  close(): Promise<void>;
  readable: ReadableStream<Uint8Array> | null;
  getInfo?(): { usbVendorId?: number; usbProductId?: number };
}

export interface SerialLike {
  requestPort(options?: object): Promise<SerialPortLike>;
  addEventListener?(type: "disconnect", listener: (event: Event) => void): void;
  removeEventListener?(type: "disconnect", listener: (event: Event) => void): void;
}

export const BAUD_RATES = [9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600] as const;

/** Why Web Serial is not usable here, or null when it is. */
export function serialUnavailableReason(win: { isSecureContext: boolean; navigator: Navigator }): string | null {
  if (!win.isSecureContext) {
    return "Web Serial needs a secure context: open TinyStudio over https:// or on http://localhost / http://127.0.0.1.";
  }
  if (!("serial" in win.navigator)) {
    return "This browser has no Web Serial (Firefox and Safari do not implement it): use Chrome, Edge or Opera on a desktop.";
  }
  return null;
}

export type LineListener = (line: string, t: number) => void;

/** One connected port delivering lines; `onEnd` fires once with a reason when reading stops. */
export class SerialDevice {
  private port: SerialPortLike;
  private reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  private listeners = new Set<LineListener>();
  private closing = false;
  private ended = false;
  onEnd: ((reason: string | null) => void) | null = null;
  readonly baudRate: number;

  private constructor(port: SerialPortLike, baudRate: number) {
    this.port = port;
    this.baudRate = baudRate;
  }

  /** Asks the user to pick a port, opens it and starts reading. */
  static async connect(serial: SerialLike, baudRate: number): Promise<SerialDevice> {
    const port = await serial.requestPort({});
    await port.open({ baudRate });
    const device = new SerialDevice(port, baudRate);
    void device.readLoop();
    return device;
  }

  /** Calls `listener` for every complete line; returns a function that stops listening. */
  subscribe(listener: LineListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get connected(): boolean {
    return !this.ended;
  }

  private finish(reason: string | null): void {
    if (this.ended) return;
    this.ended = true;
    this.onEnd?.(reason);
  }

  private async readLoop(): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = "";
    const readable = this.port.readable;
    if (!readable) {
      this.finish("the port is not readable");
      return;
    }
    this.reader = readable.getReader();
    try {
      for (;;) {
        const { value, done } = await this.reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        const { lines, rest } = splitLines(buffer);
        buffer = rest;
        const now = performance.now() / 1000;
        for (const line of lines) for (const listener of this.listeners) listener(line, now);
      }
      this.finish(this.closing ? null : "the device closed the connection (unplugged?)");
    } catch (err) {
      this.finish(this.closing ? null : `the device was disconnected: ${(err as Error).message || "read failed"}`);
    } finally {
      this.reader?.releaseLock();
      this.reader = null;
    }
  }

  /** Stops reading and closes the port. */
  async disconnect(): Promise<void> {
    this.closing = true;
    await closePort(this.reader, this.port);
    this.finish(null);
  }
}

/** Collects lines for `seconds` of fresh input (used to detect axes and frequency). */
export function collectLines(device: SerialDevice, seconds: number): Promise<{ t: number; text: string }[]> {
  return new Promise((resolve) => {
    const lines: { t: number; text: string }[] = [];
    const stop = device.subscribe((text, t) => lines.push({ t, text }));
    setTimeout(() => {
      stop();
      resolve(lines);
    }, seconds * 1000);
  });
}

/** Cancels `reader` and closes `port`, whatever state an unplug left them in. */
export async function closePort(reader: ReadableStreamDefaultReader<Uint8Array> | null, port: SerialPortLike): Promise<void> {
  try {
    await reader?.cancel();
  } catch {
    // The stream may already be errored by an unplug; closing is still wanted.
  }
  try {
    await port.close();
  } catch {
    // Already closed.
  }
}
