import { describe, expect, it } from "vitest";
import { CaptureAbort, captureFile, fileStem, measureRate, readingsFor, StreamCapture } from "./capture";

describe("measureRate", () => {
  it("measures and snaps the rate of readings arriving in bursts", () => {
    // 10 Hz readings delivered two at a time, with jitter.
    const times = Array.from({ length: 30 }, (_, i) => Math.floor(i / 2) * 200 + (i % 3) * 4);
    expect(measureRate(times)).toBe(10);
    expect(measureRate(Array.from({ length: 50 }, (_, i) => i * 16))).toBe(62.5);
  });
  it("waits for enough readings over enough time", () => {
    expect(measureRate(Array.from({ length: 9 }, (_, i) => i * 100))).toBeNull();
    expect(measureRate(Array.from({ length: 20 }, (_, i) => i * 10))).toBeNull();
  });
});

describe("readingsFor", () => {
  it("counts the readings of a length at a rate", () => {
    expect(readingsFor(2.5, 10)).toBe(25);
    expect(readingsFor(2, 62.5)).toBe(125);
    expect(readingsFor(0.01, 10)).toBe(1);
  });
});

describe("StreamCapture", () => {
  it("collects readings of the first reading's width and skips answers and other text", () => {
    const capture = new StreamCapture(3);
    expect(capture.push("OK stream")).toBe(false);
    expect(capture.push("1,2,3")).toBe(false);
    expect(capture.push('{"label":"x"}')).toBe(false);
    expect(capture.push("4,5")).toBe(false);
    expect(capture.push("")).toBe(false);
    expect(capture.push("4 5 6")).toBe(false);
    expect(capture.progress).toBeCloseTo(2 / 3);
    expect(capture.push("7\t8\t9")).toBe(true);
    expect(capture.push("10,11,12")).toBe(true);
    expect(capture.values).toEqual([
      [1, 2, 3],
      [4, 5, 6],
      [7, 8, 9],
    ]);
  });
  it("stops on an error from the board", () => {
    const capture = new StreamCapture(3);
    expect(() => capture.push("ERR stream: no replay data")).toThrow(CaptureAbort);
  });
});

describe("captureFile", () => {
  it("builds an acquisition document named after the label", () => {
    const now = new Date("2025-01-02T03:04:05.678Z");
    const { filename, document } = captureFile({
      label: " wave ",
      deviceName: "virtual board",
      frequencyHz: 50,
      axisNames: ["x", "y"],
      values: [
        [1, 2],
        [3, 4],
      ],
      now,
    });
    expect(filename).toBe("wave.2025-01-02T03-04-05-678Z.json");
    expect(document.payload).toMatchObject({
      device_name: "virtual board",
      interval_ms: 20,
      values: [
        [1, 2],
        [3, 4],
      ],
    });
    expect(document.payload.sensors.map((s) => s.name)).toEqual(["x", "y"]);
    expect(document.protected.iat).toBe(Math.floor(now.getTime() / 1000));
  });
  it("names the axes plainly when the given names do not fit the stream", () => {
    const { document } = captureFile({ label: "a", deviceName: "b", frequencyHz: 10, axisNames: ["x"], values: [[1, 2, 3]] });
    expect(document.payload.sensors.map((s) => s.name)).toEqual(["accX", "accY", "accZ"]);
  });
});

describe("fileStem", () => {
  it("keeps a label the studio accepts in a file name", () => {
    expect(fileStem("up/down: fast!")).toBe("up_down_ fast_");
    expect(fileStem("Bewegung ä")).toBe("Bewegung ä");
    expect(fileStem("   ")).toBe("unlabelled");
    expect(fileStem("CON")).toBe("CON_");
  });
});
