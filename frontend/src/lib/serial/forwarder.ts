/**
 * The data forwarder protocol: a board prints one reading per line, values separated by commas,
 * tabs or spaces; a line starting with ERR aborts. Axes and frequency are detected by counting
 * complete lines over one second, dropping a partial first or last line.
 */

/** The board printed an ERR line: forwarding stops with its message. */
export class ForwarderAbort extends Error {}

/** The stream cannot be used (no readings, inconsistent lines). */
export class ForwarderError extends Error {}

const SEPARATORS = /[,\t ]+/;
// A measured rate within this fraction of a rate boards really use is reported as that rate:
// one second of lines read through timers and USB packets is never exact.
const SNAP_FRACTION = 0.01;
const SNAP_HZ = 0.25;

/** The values of one reading ([] for an empty line); throws ForwarderAbort on ERR, Error on junk. */
export function parseLine(line: string): number[] {
  const text = line.trim();
  if (/^<?ERR/i.test(text)) throw new ForwarderAbort(text);
  if (!text) return [];
  const values = text
    .split(SEPARATORS)
    .filter((part) => part.length > 0)
    .map((part) => {
      // Number("") and Number("0x1") would accept things a reading never holds.
      if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(part)) throw new Error(`not a number: ${part}`);
      return Number(part);
    });
  if (!values.every(Number.isFinite)) throw new Error(`not finite: ${text}`);
  return values;
}

/** Number of values on a line, or null when it is not a reading (ERR lines still throw). */
export function countValues(line: string): number | null {
  try {
    const values = parseLine(line);
    return values.length || null;
  } catch (err) {
    if (err instanceof ForwarderAbort) throw err;
    return null;
  }
}

export interface TimedLine {
  /** Arrival time in seconds. */
  t: number;
  text: string;
}

export interface StreamInfo {
  axes: number;
  frequencyHz: number;
}

function mostCommon(values: number[]): number {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best = values[0];
  let bestCount = 0;
  for (const [v, c] of counts) {
    if (c > bestCount) {
      best = v;
      bestCount = c;
    }
  }
  return best;
}

/**
 * Axes and frequency from the lines read during `windowS` seconds, the first and last possibly
 * partial (the port opens mid-line and the window closes mid-line).
 */
export function detectStream(lines: TimedLine[], windowS = 1.0): StreamInfo {
  const nonEmpty = lines.filter((l) => l.text.trim().length > 0);
  const counts = nonEmpty.map((l) => countValues(l.text));
  const inner = counts.slice(1, -1).filter((c): c is number => c !== null);
  const candidates = inner.length ? inner : counts.filter((c): c is number => c !== null);
  if (!candidates.length) {
    throw new ForwarderError("no sensor readings in one second: the board must print lines of numbers separated by commas, tabs or spaces");
  }
  const axes = mostCommon(candidates);
  let measured = nonEmpty.map((line, i) => ({ line, count: counts[i] }));
  if (measured.length && measured[0].count !== axes) measured = measured.slice(1);
  if (measured.length && measured[measured.length - 1].count !== axes) measured = measured.slice(0, -1);
  // Text that is not numbers (a boot banner) is skipped; readings of another width are not.
  const complete = measured.filter((m) => m.count !== null);
  const bad = complete.find((m) => m.count !== axes);
  if (bad) throw new ForwarderError(`a line has a different number of values than ${axes}: "${bad.line.text.trim()}"`);
  if (complete.length < 2) throw new ForwarderError("fewer than two complete readings in one second");
  let frequency = complete.length / windowS;
  const span = complete[complete.length - 1].line.t - complete[0].line.t;
  if (complete.length >= 10 && span > 0.5 * windowS) {
    const slope = secondsPerLine(complete.map((m) => m.line.t));
    if (slope > 0) frequency = 1 / slope;
  }
  return { axes, frequencyHz: snapFrequency(frequency) };
}

/**
 * The rate a board most likely uses near a measured one: a whole number of hertz (within 0.25 Hz
 * or 1 %), or a whole number of milliseconds between readings up to 50 ms (62.5 Hz = 16 ms,
 * within 1 %); otherwise the measurement itself.
 */
export function snapFrequency(measured: number): number {
  if (!(measured > 0)) return measured;
  const candidates: number[] = [];
  const whole = Math.round(measured);
  if (whole > 0 && Math.abs(whole - measured) <= Math.max(SNAP_HZ, SNAP_FRACTION * measured)) candidates.push(whole);
  const intervalMs = Math.round(1000 / measured);
  if (intervalMs >= 1 && intervalMs <= 50 && Math.abs(1000 / intervalMs - measured) <= SNAP_FRACTION * measured) {
    candidates.push(1000 / intervalMs);
  }
  if (!candidates.length) return measured;
  return candidates.reduce((best, c) => (Math.abs(c - measured) < Math.abs(best - measured) ? c : best));
}

/**
 * Seconds per reading: the least-squares slope of arrival time against line number. Lines reach
 * the page in bursts (USB packets, timer ticks), so the slope over all of them is steadier than
 * the span between the first and the last.
 */
export function secondsPerLine(times: number[]): number {
  const n = times.length;
  if (n < 2) return 0;
  const meanI = (n - 1) / 2;
  const meanT = times.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (i - meanI) * (times[i] - meanT);
    den += (i - meanI) ** 2;
  }
  return num / den;
}

/** Splits a growing text buffer into complete lines (CR stripped) and the unfinished rest. */
export function splitLines(buffer: string): { lines: string[]; rest: string } {
  const parts = buffer.split("\n");
  const rest = parts.pop() ?? "";
  return { lines: parts.map((p) => p.replace(/\r$/, "")), rest };
}

/** Default axis names for a detected stream: accX/accY/accZ for three axes, else axis1..N. */
export function defaultAxisNames(axes: number): string[] {
  if (axes === 3) return ["accX", "accY", "accZ"];
  if (axes === 6) return ["accX", "accY", "accZ", "gyrX", "gyrY", "gyrZ"];
  return Array.from({ length: axes }, (_, i) => `axis${i + 1}`);
}

export interface AcquisitionDocument {
  protected: { ver: "v1"; alg: "none"; iat: number };
  signature: string;
  payload: {
    device_name: string;
    device_type: string;
    interval_ms: number;
    sensors: { name: string; units: string }[];
    values: number[][];
  };
}

/** An unsigned Edge Impulse acquisition JSON document for recorded readings. */
export function buildAcquisition(options: {
  deviceName: string;
  frequencyHz: number;
  axisNames: string[];
  units?: string;
  values: number[][];
  now?: number;
}): AcquisitionDocument {
  const names = options.axisNames.map((n, i) => n.trim() || `axis${i + 1}`);
  return {
    protected: { ver: "v1", alg: "none", iat: Math.floor((options.now ?? Date.now()) / 1000) },
    signature: "0".repeat(64),
    payload: {
      device_name: options.deviceName,
      device_type: "DATA_FORWARDER",
      interval_ms: 1000 / options.frequencyHz,
      sensors: names.map((name) => ({ name, units: options.units ?? "N/A" })),
      values: options.values,
    },
  };
}
