/**
 * Reads a CSV file picked in the browser into a signal for a board's sensor replay: an optional
 * header (one name per column, a unit in parentheses or brackets allowed), an optional
 * `timestamp` column giving the rate, and one column per axis.
 */
import { defaultAxisNames } from "../serial/forwarder";

/** Most readings the replay route takes in one request. */
export const MAX_REPLAY_READINGS = 65536;
/** Most axes the firmware replays. */
export const MAX_REPLAY_AXES = 64;
// Steps between timestamps may differ from the median by this fraction (times rounded to whole
// milliseconds), as in the studio's own CSV reader.
const IRREGULAR_TOLERANCE = 0.1;
const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const NAME_WITH_UNIT = /^(.*?)\s*[([]([^)\]]*)[)\]]\s*$/;
const TIME_NAMES = new Set(["timestamp", "time"]);
// Milliseconds per unit of the timestamp column; no unit means milliseconds.
const TIME_UNITS: Record<string, number> = { "": 1, ms: 1, s: 1000, us: 0.001, µs: 0.001 };

/** A file that cannot be replayed; `line` is 1-based when the problem is on one line. */
export class SignalFileError extends Error {
  readonly line: number | null;

  constructor(message: string, line: number | null = null) {
    super(line === null ? message : `line ${line}: ${message}`);
    this.line = line;
  }
}

export interface ParsedSignal {
  /** Readings x axes. */
  values: number[][];
  axisNames: string[];
  /** Readings per second from the timestamps, or null when the file has none. */
  hz: number | null;
}

function delimiterOf(line: string): string | RegExp {
  if (line.includes(",")) return ",";
  if (line.includes(";")) return ";";
  if (line.includes("\t")) return "\t";
  return /\s+/;
}

function cellsOf(line: string, delimiter: string | RegExp): string[] {
  return line.split(delimiter).map((cell) =>
    cell
      .trim()
      .replace(/^"(.*)"$/, "$1")
      .trim(),
  );
}

/** `"accX (m/s2)"` → name `accX`, unit `m/s2`. */
function nameAndUnit(cell: string): { name: string; unit: string } {
  const match = NAME_WITH_UNIT.exec(cell);
  if (match && match[1].trim()) return { name: match[1].trim(), unit: match[2].trim() };
  return { name: cell, unit: "" };
}

/** Parses the text of a CSV file; throws SignalFileError with a reason a person can act on. */
export function parseSignalCsv(text: string): ParsedSignal {
  const lines = text
    .replace(/^\uFEFF/, "")
    .split("\n")
    .map((line, i) => ({ n: i + 1, text: line.replace(/\r$/, "").trim() }))
    .filter((line) => line.text.length > 0);
  if (!lines.length) throw new SignalFileError("the file is empty");
  const delimiter = delimiterOf(lines[0].text);
  const first = cellsOf(lines[0].text, delimiter);
  const hasHeader = first.some((cell) => !NUMBER.test(cell));

  let timeColumn = -1;
  let msPerTimeUnit = 1;
  let axisNames: string[];
  if (hasHeader) {
    const columns = first.map(nameAndUnit);
    columns.forEach((column, i) => {
      if (!column.name) throw new SignalFileError(`column ${i + 1} of the header has no name`, lines[0].n);
    });
    const timeColumns = columns.flatMap((column, i) => (TIME_NAMES.has(column.name.toLowerCase()) ? [i] : []));
    if (timeColumns.length > 1) throw new SignalFileError("the header has more than one timestamp column", lines[0].n);
    if (timeColumns.length === 1) {
      timeColumn = timeColumns[0];
      const unit = columns[timeColumn].unit.toLowerCase();
      if (!(unit in TIME_UNITS)) {
        throw new SignalFileError(`the timestamp unit "${columns[timeColumn].unit}" is not one of ms, s or us`, lines[0].n);
      }
      msPerTimeUnit = TIME_UNITS[unit];
    }
    axisNames = columns.filter((_, i) => i !== timeColumn).map((column) => column.name);
    if (!axisNames.length) throw new SignalFileError("the file has a timestamp column but no column of values", lines[0].n);
  } else {
    axisNames = defaultAxisNames(first.length);
  }
  if (axisNames.length > MAX_REPLAY_AXES) {
    throw new SignalFileError(`${axisNames.length} columns of values: a board replays at most ${MAX_REPLAY_AXES} axes`);
  }

  const rows = hasHeader ? lines.slice(1) : lines;
  if (!rows.length) throw new SignalFileError("the file has a header but no readings");
  if (rows.length > MAX_REPLAY_READINGS) {
    throw new SignalFileError(`${rows.length} readings: a replay takes at most ${MAX_REPLAY_READINGS}`);
  }
  const width = first.length;
  const names = hasHeader ? first.map((cell) => nameAndUnit(cell).name) : null;
  const times: number[] = [];
  const values: number[][] = [];
  for (const row of rows) {
    const cells = cellsOf(row.text, delimiter);
    if (cells.length !== width) {
      throw new SignalFileError(`${cells.length} values where the ${hasHeader ? "header has" : "first line has"} ${width}`, row.n);
    }
    const numbers = cells.map((cell, i) => {
      const value = Number(cell);
      if (!NUMBER.test(cell) || !Number.isFinite(value)) {
        const column = names ? `"${names[i]}"` : `column ${i + 1}`;
        throw new SignalFileError(cell ? `"${cell}" in ${column} is not a number` : `${column} is empty`, row.n);
      }
      return value;
    });
    if (timeColumn >= 0) times.push(numbers[timeColumn] * msPerTimeUnit);
    values.push(timeColumn >= 0 ? numbers.filter((_, i) => i !== timeColumn) : numbers);
  }
  return {
    values,
    axisNames,
    hz:
      timeColumn >= 0
        ? rateOf(
            times,
            rows.map((r) => r.n),
          )
        : null,
  };
}

/** Readings per second from timestamps in ms (null for a single reading); refuses gaps. */
function rateOf(times: number[], lineNumbers: number[]): number | null {
  if (times.length < 2) return null;
  const steps = times.slice(1).map((t, i) => t - times[i]);
  const back = steps.findIndex((step) => step <= 0);
  if (back >= 0) {
    throw new SignalFileError(`the timestamp ${times[back + 1]} ms does not come after ${times[back]} ms`, lineNumbers[back + 1]);
  }
  const sorted = [...steps].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  const off = steps.findIndex((step) => Math.abs(step - median) > IRREGULAR_TOLERANCE * median);
  if (off >= 0) {
    throw new SignalFileError(
      `the timestamps jump by ${round(steps[off])} ms where the others step by about ${round(median)} ms: a replay needs evenly spaced readings`,
      lineNumbers[off + 1],
    );
  }
  return ((times.length - 1) * 1000) / (times[times.length - 1] - times[0]);
}

function round(v: number): number {
  return Number(v.toPrecision(4));
}
