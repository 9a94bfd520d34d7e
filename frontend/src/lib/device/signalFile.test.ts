import { describe, expect, it } from "vitest";
import { MAX_REPLAY_READINGS, parseSignalCsv, SignalFileError } from "./signalFile";

/** The error `parseSignalCsv` throws for `text`. */
function refusal(text: string): SignalFileError {
  try {
    parseSignalCsv(text);
  } catch (err) {
    if (err instanceof SignalFileError) return err;
    throw err;
  }
  throw new Error("the file was accepted");
}

describe("parseSignalCsv", () => {
  it("reads a timestamp column in ms and named axes with units", () => {
    const parsed = parseSignalCsv("timestamp,accX (m/s2),accY [m/s2]\r\n0,1,2\r\n20,3,4\r\n40,5,6\r\n");
    expect(parsed).toEqual({
      values: [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
      axisNames: ["accX", "accY"],
      hz: 50,
    });
  });
  it("takes the timestamp from any column and in seconds", () => {
    const parsed = parseSignalCsv('"x";"Time (s)";"y"\n1;0.0;-1\n2;0.1;-2\n3;0.2;-3');
    expect(parsed.axisNames).toEqual(["x", "y"]);
    expect(parsed.values).toEqual([
      [1, -1],
      [2, -2],
      [3, -3],
    ]);
    expect(parsed.hz).toBeCloseTo(10, 9);
  });
  it("accepts steps rounded to whole milliseconds", () => {
    const parsed = parseSignalCsv("timestamp,v\n0,1\n16,2\n33,3\n50,4\n");
    expect(parsed.hz).toBeCloseTo(60, 9);
  });
  it("reads files without a header or a timestamp: the rate is left to the user", () => {
    expect(parseSignalCsv("0.5 1 2\n-.25 1e3 +4\n")).toEqual({
      values: [
        [0.5, 1, 2],
        [-0.25, 1000, 4],
      ],
      axisNames: ["accX", "accY", "accZ"],
      hz: null,
    });
    expect(parseSignalCsv("x,y\n1,2\n3,4\n").hz).toBeNull();
  });
  it("names the line and column of a bad value", () => {
    expect(refusal("timestamp,accX\n0,1\n10,abc\n").message).toBe('line 3: "abc" in "accX" is not a number');
    expect(refusal("1,2\n3,\n").message).toBe("line 2: column 2 is empty");
    expect(refusal("a,b\n1,2\n\n3,4,5\n")).toMatchObject({ line: 4, message: "line 4: 3 values where the header has 2" });
  });
  it("refuses timestamps that go back or jump", () => {
    expect(refusal("timestamp,v\n0,1\n10,2\n10,3\n").message).toBe("line 4: the timestamp 10 ms does not come after 10 ms");
    expect(refusal("timestamp,v\n0,1\n10,2\n20,3\n40,4\n50,5\n").message).toMatch(/^line 5: the timestamps jump by 20 ms where the others step by about 10 ms/);
  });
  it("refuses files with nothing to replay", () => {
    expect(refusal("").message).toBe("the file is empty");
    expect(refusal(" \n\n").message).toBe("the file is empty");
    expect(refusal("accX,accY\n").message).toBe("the file has a header but no readings");
    expect(refusal("timestamp\n0\n10\n").message).toBe("line 1: the file has a timestamp column but no column of values");
    expect(refusal("timestamp,time,v\n").message).toBe("line 1: the header has more than one timestamp column");
    expect(refusal("timestamp (min),v\n0,1\n").message).toBe('line 1: the timestamp unit "min" is not one of ms, s or us');
    expect(refusal("a,,b\n1,2,3\n").message).toBe("line 1: column 2 of the header has no name");
  });
  it("refuses more readings than a replay takes", () => {
    const text = Array.from({ length: MAX_REPLAY_READINGS + 1 }, (_, i) => String(i)).join("\n");
    expect(refusal(text).message).toBe(`${MAX_REPLAY_READINGS + 1} readings: a replay takes at most ${MAX_REPLAY_READINGS}`);
  });
});
