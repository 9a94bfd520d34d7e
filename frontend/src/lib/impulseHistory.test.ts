import { describe, expect, it } from "vitest";
import { previousVersion, runLearnIndex, runsByVersion } from "./impulseHistory";

describe("impulse history", () => {
  it("groups this impulse's runs by version, oldest first", () => {
    const run = (id: number, impulse_id: number, impulse_version_id: number) => ({ id, impulse_id, impulse_version_id, status: "succeeded", metrics: {} });
    const runs = [run(3, 1, 10), run(1, 1, 10), run(2, 1, 11), run(4, 2, 10)];
    const byVersion = runsByVersion(runs, 1);
    expect(byVersion.get(10)?.map((r) => r.id)).toEqual([1, 3]);
    expect(byVersion.get(11)?.map((r) => r.id)).toEqual([2]);
    expect(byVersion.get(12)).toBeUndefined();
  });

  it("finds the version before another, in any order", () => {
    const versions = [
      { id: 13, version: 4 },
      { id: 10, version: 1 },
      { id: 12, version: 3 },
    ];
    expect(previousVersion(versions, versions[0])?.version).toBe(3);
    expect(previousVersion(versions, versions[2])?.version).toBe(1);
    expect(previousVersion(versions, versions[1])).toBeNull();
  });

  it("reads which learning block a run trained", () => {
    expect(runLearnIndex({ id: 1, impulse_id: 1, impulse_version_id: 1, status: "queued", metrics: { learn_index: 1 } })).toBe(1);
    expect(runLearnIndex({ id: 1, impulse_id: 1, impulse_version_id: 1, status: "queued", metrics: {} })).toBe(0);
  });
});
