import { describe, expect, it } from "vitest";
import type { FeatureDrift } from "../api/fleet";
import { lastSeenText, parseTags, psiBars, registrationSteps, trendText } from "./fleet";

const feature = (index: number, psi: number, drifted = psi > 0.25): FeatureDrift => ({
  index,
  name: `feature ${index}`,
  psi,
  ks: 0,
  reference_mean: 0,
  field_mean: 0,
  drifted,
});

describe("lastSeenText", () => {
  const now = Date.parse("2026-12-06T12:00:00Z");
  it("says how long ago a device was seen", () => {
    expect(lastSeenText(null, now)).toBe("never");
    expect(lastSeenText("2026-12-06T11:59:30Z", now)).toBe("just now");
    expect(lastSeenText("2026-12-06T11:55:00Z", now)).toBe("5 min ago");
    expect(lastSeenText("2026-12-06T09:00:00Z", now)).toBe("3 h ago");
    expect(lastSeenText("2026-12-05T11:00:00Z", now)).toBe("1 day ago");
  });
});

describe("psiBars", () => {
  it("keeps the threshold on the scale when every feature is calm", () => {
    const { bars, top } = psiBars([feature(0, 0.05), feature(1, 0.1)], 0.25);
    expect(top).toBeCloseTo(0.375);
    expect(bars.map((b) => b.height)).toEqual([0.05 / 0.375, 0.1 / 0.375]);
  });
  it("scales to the largest PSI and shows the largest bars in feature order", () => {
    const { bars, top, hidden } = psiBars([feature(0, 0.1), feature(1, 1.2), feature(2, 0.01), feature(3, 0.4)], 0.25, 3);
    expect(top).toBe(1.2);
    expect(bars.map((b) => b.name)).toEqual(["feature 0", "feature 1", "feature 3"]);
    expect(bars.filter((b) => b.drifted).map((b) => b.name)).toEqual(["feature 1", "feature 3"]);
    expect(hidden).toBe(1);
  });
});

describe("registrationSteps", () => {
  it("names this studio's fleet routes and the keys each takes", () => {
    const steps = registrationSteps("http://127.0.0.1:8321");
    expect(steps.register).toContain("http://127.0.0.1:8321/api/fleet/devices/register");
    expect(steps.register).toContain("x-api-key: $API_KEY");
    expect(steps.telemetry).toContain("authorization: Bearer $DEVICE_KEY");
  });
});

describe("trendText", () => {
  it("says whether the top score falls, rises or holds", () => {
    expect(trendText(null)).toBeNull();
    expect(trendText(-0.0001)).toBe("top score steady");
    expect(trendText(-0.0123)).toBe("top score −0.012 per day");
    expect(trendText(0.02)).toBe("top score +0.020 per day");
  });
});

describe("parseTags", () => {
  it("splits on commas, trims and keeps each tag once", () => {
    expect(parseTags(" south, roof ,, south ")).toEqual(["south", "roof"]);
    expect(parseTags("")).toEqual([]);
  });
});
