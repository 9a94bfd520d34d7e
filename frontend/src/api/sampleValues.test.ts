import { describe, expect, it } from "vitest";
import { readAllPages, type RawValues } from "./sampleValues";

const rows = [[1], [2], [3], [4], [5]];

function pageOf(start: number, size: number): RawValues {
  const end = Math.min(start + size, rows.length);
  return {
    sample_id: 7,
    interval_ms: 10,
    sensors: [{ name: "x", units: "g" }],
    length: rows.length,
    start,
    count: end - start,
    next_start: end < rows.length ? end : null,
    values: rows.slice(start, end),
  };
}

describe("readAllPages", () => {
  it("follows next_start and joins the pages in order", async () => {
    const asked: number[] = [];
    const all = await readAllPages(async (start) => {
      asked.push(start);
      return pageOf(start, 2);
    });
    expect(asked).toEqual([0, 2, 4]);
    expect(all.values).toEqual(rows);
    expect(all).toMatchObject({ start: 0, count: 5, length: 5, next_start: null, interval_ms: 10 });
  });
  it("asks once when the first page holds the whole sample", async () => {
    let calls = 0;
    const all = await readAllPages(async (start) => {
      calls += 1;
      return pageOf(start, 10);
    });
    expect(calls).toBe(1);
    expect(all.values).toEqual(rows);
  });
});
