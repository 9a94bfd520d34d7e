/**
 * A TinyStudio board speaking the firmware's line protocol (workers/firmware/PROTOCOL.md) over
 * any transport: `info`, `classify`, `stream`/`stop`, and the raw lines for a terminal.
 */
import type { Transport } from "./transport";

/** The firmware's answer to `info` (fields this page uses; the rest stays available). */
export interface DeviceInfo {
  protocol: number;
  board: string;
  model: string;
  labels: string[];
  signal_values: number;
  arena_bytes?: number;
  flash_bytes?: number;
  ram_bytes?: number;
  stack_used_bytes?: number;
  replay_capacity?: number;
  timing?: string;
  [key: string]: unknown;
}

/** The firmware's answer to `classify`. */
export interface Classification {
  label: string;
  label_index: number;
  scores: (number | null)[];
  anomaly: number | null;
  dsp_us: number;
  inference_us: number;
  timing?: string;
}

/** The board answered `ERR ...`. */
export class DeviceError extends Error {}

/** What one line from the board is. */
export type Answer =
  { kind: "json"; value: Record<string, unknown> } | { kind: "ok"; text: string } | { kind: "err"; text: string } | { kind: "line"; text: string };

/** Sorts a line into a JSON answer, an OK, an ERR, or anything else (e.g. a sensor reading). */
export function parseAnswer(line: string): Answer {
  const text = line.trim();
  if (text.startsWith("{")) {
    try {
      const value: unknown = JSON.parse(text);
      if (value && typeof value === "object" && !Array.isArray(value)) return { kind: "json", value: value as Record<string, unknown> };
    } catch {
      // A garbled or cut JSON line is not an answer; it still shows in the terminal.
    }
    return { kind: "line", text };
  }
  if (/^OK\b/.test(text)) return { kind: "ok", text: text.slice(2).trim() };
  if (/^ERR\b/.test(text)) return { kind: "err", text: text.slice(3).trim() };
  return { kind: "line", text };
}

/** A value as the firmware reads it back: the shortest decimal of its float32. */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) throw new DeviceError(`cannot send ${v}: the protocol carries finite numbers only`);
  const f = Math.fround(v);
  // Nine significant digits always read back as the same float32; fewer often do too.
  for (let digits = 1; digits < 9; digits++) {
    const text = String(Number(f.toPrecision(digits)));
    if (Math.fround(Number(text)) === f) return text;
  }
  return String(Number(f.toPrecision(9)));
}

// Windows with more values than this are uploaded in chunks (`classify begin N`), which keeps
// each line short for serial links and terminals.
export const ONE_LINE_VALUES = 2000;
const CHUNK_VALUES = 200;
// The line the firmware prints after every reset (also after a virtual board is flashed).
const READY = "tinystudio ready";

export type LogListener = (direction: "in" | "out", line: string) => void;

/** One connected board; requests are sent one at a time and matched with their answer line. */
export class Device {
  readonly transport: Transport;
  private queue: Promise<unknown> = Promise.resolve();
  private logListeners = new Set<LogListener>();
  timeoutMs: number;

  constructor(transport: Transport, { timeoutMs = 10_000 }: { timeoutMs?: number } = {}) {
    this.transport = transport;
    this.timeoutMs = timeoutMs;
    transport.onLine((line) => this.log("in", line));
  }

  /** Every line in and out, for a terminal view; returns a function that stops listening. */
  onLog(listener: LogListener): () => void {
    this.logListeners.add(listener);
    return () => this.logListeners.delete(listener);
  }

  private log(direction: "in" | "out", line: string): void {
    for (const listener of [...this.logListeners]) listener(direction, line);
  }

  /** Sends a line without waiting for anything (value lines, `stream`). */
  async send(line: string): Promise<void> {
    this.log("out", line);
    await this.transport.send(line);
  }

  /** Runs `task` after every earlier request has finished, so answers cannot interleave. */
  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const result = this.queue.then(task, task);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /**
   * Sends `line` and resolves with its answer: a JSON object or an OK text; an ERR answer
   * rejects with DeviceError. Other lines (sensor readings) are skipped.
   */
  request(line: string, timeoutMs = this.timeoutMs): Promise<Answer & { kind: "json" | "ok" }> {
    return this.enqueue(() => this.exchange(line, timeoutMs));
  }

  private exchange(line: string, timeoutMs = this.timeoutMs): Promise<Answer & { kind: "json" | "ok" }> {
    return new Promise((resolve, reject) => {
      const done = (fn: () => void) => {
        clearTimeout(timer);
        stopLines();
        stopEnd();
        fn();
      };
      const timer = setTimeout(() => done(() => reject(new DeviceError(`no answer to "${brief(line)}" within ${timeoutMs / 1000} s`))), timeoutMs);
      const stopLines = this.transport.onLine((received) => {
        const answer = parseAnswer(received);
        if (answer.kind === "json") done(() => resolve(answer));
        else if (answer.kind === "ok" && answer.text !== READY) done(() => resolve(answer));
        else if (answer.kind === "err") done(() => reject(new DeviceError(answer.text || "the board refused the command")));
      });
      const stopEnd = this.transport.onEnd((reason) => done(() => reject(new DeviceError(`the board disconnected: ${reason ?? "closed"}`))));
      this.send(line).catch((err: unknown) => done(() => reject(err instanceof Error ? err : new DeviceError(String(err)))));
    });
  }

  /** The firmware's description: board, model, labels, window size, flash and RAM use. */
  async info(): Promise<DeviceInfo> {
    const answer = await this.request("info");
    if (answer.kind !== "json") throw new DeviceError(`"info" answered OK ${answer.text}, not JSON`);
    return answer.value as DeviceInfo;
  }

  /** Classifies one window of raw values (time-major: reading after reading, axes inside). */
  async classify(values: ArrayLike<number>): Promise<Classification> {
    const text = Array.from(values, formatValue);
    const answer = await this.enqueue(async () => {
      if (text.length <= ONE_LINE_VALUES) return this.exchange(`classify ${text.join(",")}`);
      await this.exchange(`classify begin ${text.length}`);
      // Value lines have no answer unless they are wrong; a wrong one aborts the upload and
      // `classify end` then answers ERR.
      for (let i = 0; i < text.length; i += CHUNK_VALUES) await this.send(text.slice(i, i + CHUNK_VALUES).join(","));
      return this.exchange("classify end");
    });
    if (answer.kind !== "json") throw new DeviceError(`"classify" answered OK ${answer.text}, not JSON`);
    return answer.value as unknown as Classification;
  }

  /** Starts printing sensor readings (the data forwarder format) at `hz` or the replay's rate. */
  async startStream(hz?: number): Promise<void> {
    await this.send(hz ? `stream ${hz}` : "stream");
  }

  /** Stops a stream; resolves once the board answered `OK stopped`. */
  async stopStream(): Promise<void> {
    await this.request("stop");
  }

  async close(): Promise<void> {
    await this.transport.close();
  }
}

function brief(line: string): string {
  return line.length > 40 ? `${line.slice(0, 37)}...` : line;
}
