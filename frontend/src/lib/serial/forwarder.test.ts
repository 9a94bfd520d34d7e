import { describe, expect, it } from "vitest";
import {
  buildAcquisition,
  countValues,
  defaultAxisNames,
  detectStream,
  ForwarderAbort,
  ForwarderError,
  parseLine,
  snapFrequency,
  splitLines,
  type TimedLine,
} from "./forwarder";

/** Lines of a `axes`-value stream at `hz` for `seconds`, timed from 0, optionally cut at both ends. */
function stream(hz: number, axes: number, seconds = 1, cut = false): TimedLine[] {
  const lines: TimedLine[] = [];
  const n = Math.round(hz * seconds);
  for (let i = 0; i < n; i++) {
    const values = Array.from({ length: axes }, (_, a) => (i * 0.01 + a).toFixed(3));
    lines.push({ t: i / hz, text: values.join(",") });
  }
  if (cut) {
    lines[0] = { t: 0, text: "5,2.002" }; // the tail of a reading cut by opening the port
    lines[lines.length - 1] = { t: lines[lines.length - 1].t, text: "0.5" };
  }
  return lines;
}

describe("parseLine", () => {
  it("accepts commas, tabs and spaces", () => {
    expect(parseLine("1,2.5,-3")).toEqual([1, 2.5, -3]);
    expect(parseLine("1\t2\t3\r")).toEqual([1, 2, 3]);
    expect(parseLine("  4  5 6e-1 ")).toEqual([4, 5, 0.6]);
    expect(parseLine("1, 2 ,3")).toEqual([1, 2, 3]);
  });
  it("returns nothing for an empty line and throws on junk", () => {
    expect(parseLine("   ")).toEqual([]);
    expect(() => parseLine("hello 1 2")).toThrow(/not a number/);
    expect(() => parseLine("1,NaN")).toThrow();
    expect(countValues("Booting v1.2")).toBeNull();
  });
  it("aborts on ERR lines", () => {
    expect(() => parseLine("ERR: sensor not found")).toThrow(ForwarderAbort);
    expect(() => countValues("err overflow")).toThrow(ForwarderAbort);
  });
});

describe("splitLines", () => {
  it("keeps the unfinished tail for the next chunk and strips CR", () => {
    const first = splitLines("1,2\r\n3,4\r\n5,");
    expect(first).toEqual({ lines: ["1,2", "3,4"], rest: "5," });
    expect(splitLines(first.rest + "6\r\n")).toEqual({ lines: ["5,6"], rest: "" });
  });
});

describe("detectStream", () => {
  it("detects 3 axes at 50 Hz", () => {
    expect(detectStream(stream(50, 3))).toEqual({ axes: 3, frequencyHz: 50 });
  });
  it("drops partial first and last lines", () => {
    expect(detectStream(stream(100, 6, 1, true))).toEqual({ axes: 6, frequencyHz: 100 });
  });
  it("reports a rate of a whole number of milliseconds", () => {
    expect(detectStream(stream(62.5, 2))).toEqual({ axes: 2, frequencyHz: 62.5 });
  });
  it("snaps a jittery measurement to the rate boards use", () => {
    expect(snapFrequency(50.26)).toBe(50);
    expect(snapFrequency(62.3)).toBe(62.5);
    expect(snapFrequency(333.4)).toBeCloseTo(1000 / 3, 6);
    expect(snapFrequency(16010)).toBe(16010);
    expect(snapFrequency(15990.4)).toBe(15990);
    expect(snapFrequency(2.1)).toBe(2);
    // Far from any such rate, the measurement stands.
    expect(snapFrequency(7.5)).toBe(7.5);
  });
  it("measures the rate of lines that arrive in bursts", () => {
    // 50 Hz readings delivered three at a time every 60 ms, the first burst at 35 ms.
    const lines: TimedLine[] = [];
    for (let i = 0; i < 50; i++) lines.push({ t: 0.035 + Math.floor(i / 3) * 0.06, text: `${i},1,2` });
    expect(detectStream(lines)).toEqual({ axes: 3, frequencyHz: 50 });
    // Endpoints alone would say 49 intervals over 0.96 s = 51 Hz.
    expect(49 / (lines[49].t - lines[0].t)).toBeGreaterThan(51);
  });
  it("skips banner text but refuses readings of another width", () => {
    const lines = stream(20, 3);
    lines.splice(5, 0, { t: 0.26, text: "Sensor ready" });
    expect(detectStream(lines).axes).toBe(3);
    lines.splice(8, 0, { t: 0.4, text: "1,2" });
    expect(() => detectStream(lines)).toThrow(ForwarderError);
  });
  it("explains an empty stream", () => {
    expect(() => detectStream([])).toThrow(/no sensor readings/);
    expect(() => detectStream([{ t: 0, text: "1,2,3" }])).toThrow(/fewer than two/);
  });
  it("aborts when the board reports an error", () => {
    expect(() => detectStream([...stream(10, 3), { t: 0.95, text: "ERR imu" }])).toThrow(ForwarderAbort);
  });
});

describe("buildAcquisition", () => {
  it("builds an unsigned Edge Impulse acquisition document", () => {
    const doc = buildAcquisition({ deviceName: "board", frequencyHz: 50, axisNames: ["x", " ", "z"], values: [[1, 2, 3]], now: 1_700_000_000_500 });
    expect(doc.protected).toEqual({ ver: "v1", alg: "none", iat: 1_700_000_000 });
    expect(doc.signature).toMatch(/^0{64}$/);
    expect(doc.payload.interval_ms).toBe(20);
    expect(doc.payload.sensors.map((s) => s.name)).toEqual(["x", "axis2", "z"]);
    expect(doc.payload.values).toEqual([[1, 2, 3]]);
  });
  it("names axes by count", () => {
    expect(defaultAxisNames(3)).toEqual(["accX", "accY", "accZ"]);
    expect(defaultAxisNames(2)).toEqual(["axis1", "axis2"]);
  });
});
