/**
 * Recording a board's sensor stream into a sample: the stream's rate, collecting a number of
 * readings line by line, and the acquisition file the samples upload takes.
 */
import { buildAcquisition, defaultAxisNames, ForwarderAbort, parseLine, secondsPerLine, snapFrequency, type AcquisitionDocument } from "../serial/forwarder";

// A rate measured from fewer readings, or over a shorter time, is too rough to store.
const MIN_MEASURED_READINGS = 10;
const MIN_MEASURED_SPAN_MS = 500;

/**
 * Readings per second of a stream from the arrival times (ms) of its latest readings, snapped to
 * a rate boards use (as the Devices page detects it); null until there are enough readings.
 */
export function measureRate(timesMs: number[]): number | null {
  if (timesMs.length < MIN_MEASURED_READINGS) return null;
  if (timesMs[timesMs.length - 1] - timesMs[0] < MIN_MEASURED_SPAN_MS) return null;
  const msPerReading = secondsPerLine(timesMs);
  return msPerReading > 0 ? snapFrequency(1000 / msPerReading) : null;
}

/** How many readings `seconds` of a stream at `hz` hold (at least one). */
export function readingsFor(seconds: number, hz: number): number {
  return Math.max(1, Math.round(seconds * hz));
}

/** The board reported an error while recording. */
export class CaptureAbort extends Error {}

/**
 * Collects `target` readings from stream lines. The first reading fixes the number of axes;
 * readings of another width, answers and other text are skipped; an ERR line aborts.
 */
export class StreamCapture {
  readonly target: number;
  readonly values: number[][] = [];
  private axes: number | null = null;

  constructor(target: number) {
    this.target = target;
  }

  /** Takes one line from the board; returns true once the capture holds `target` readings. */
  push(line: string): boolean {
    if (this.done) return true;
    let reading: number[];
    try {
      reading = parseLine(line);
    } catch (err) {
      if (err instanceof ForwarderAbort) throw new CaptureAbort(`the board reported an error: ${err.message}`);
      return false;
    }
    if (!reading.length) return false;
    this.axes ??= reading.length;
    if (reading.length !== this.axes) return false;
    this.values.push(reading);
    return this.done;
  }

  get done(): boolean {
    return this.values.length >= this.target;
  }

  /** Fraction recorded, 0 to 1. */
  get progress(): number {
    return Math.min(1, this.values.length / this.target);
  }
}

/**
 * The acquisition document of a recording and the file name to upload it as: the label, then the
 * time, so the studio names the sample after its label.
 */
export function captureFile(options: { label: string; deviceName: string; frequencyHz: number; axisNames: string[]; values: number[][]; now?: Date }): {
  filename: string;
  document: AcquisitionDocument;
} {
  const now = options.now ?? new Date();
  const axes = options.values[0]?.length ?? 0;
  // Names that do not fit the stream (another source was replayed) give way to plain ones.
  const axisNames = options.axisNames.length === axes ? options.axisNames : defaultAxisNames(axes);
  const document = buildAcquisition({
    deviceName: options.deviceName,
    frequencyHz: options.frequencyHz,
    axisNames,
    values: options.values,
    now: now.getTime(),
  });
  const stamp = now.toISOString().replace(/[:.]/g, "-");
  return { filename: `${fileStem(options.label)}.${stamp}.json`, document };
}

/** A label as the start of a file name the studio accepts: letters, digits, spaces, - and _. */
export function fileStem(label: string): string {
  const stem =
    label
      .trim()
      .replace(/[^\p{L}\p{N} _-]+/gu, "_")
      .slice(0, 80)
      .trim() || "unlabelled";
  // Windows device names are refused as file names, whatever follows them.
  return /^(con|prn|aux|nul|com[1-9]|lpt[1-9])$/i.test(stem) ? `${stem}_` : stem;
}
