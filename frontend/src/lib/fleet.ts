/** How the Fleet page reads devices and drift: last seen in words, PSI bars, the REST calls a device makes. */
import type { FeatureDrift } from "../api/fleet";

/** "just now", "5 min ago", "3 h ago", "2 days ago"; "never" without a time. */
export function lastSeenText(iso: string | null | undefined, now: number = Date.now()): string {
  if (!iso) return "never";
  const seconds = Math.max(0, (now - new Date(iso).getTime()) / 1000);
  if (seconds < 60) return "just now";
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`;
  const days = Math.floor(seconds / 86_400);
  return `${days} day${days === 1 ? "" : "s"} ago`;
}

/** The mean top score's trend in words: "steady" below half a thousandth per day. */
export function trendText(perDay: number | null): string | null {
  if (perDay === null) return null;
  if (Math.abs(perDay) < 0.0005) return "top score steady";
  return `top score ${perDay > 0 ? "+" : "−"}${Math.abs(perDay).toFixed(3)} per day`;
}

/** Tags as typed in one field: separated by commas, trimmed, empty ones dropped, each once. */
export function parseTags(text: string): string[] {
  return [
    ...new Set(
      text
        .split(",")
        .map((t) => t.trim())
        .filter(Boolean),
    ),
  ];
}

export interface PsiBar {
  index: number;
  name: string;
  psi: number;
  /** Share of the chart's height, 0..1. */
  height: number;
  drifted: boolean;
}

/** Bars of per-feature PSI on a scale that always shows the alert threshold (at most `max` bars, the largest). */
export function psiBars(features: FeatureDrift[], threshold: number, max = 40): { bars: PsiBar[]; top: number; hidden: number } {
  const largest = [...features].sort((a, b) => b.psi - a.psi).slice(0, max);
  const shown = features.filter((f) => largest.includes(f));
  const top = Math.max(threshold * 1.5, ...shown.map((f) => f.psi));
  return {
    bars: shown.map((f) => ({ index: f.index, name: f.name, psi: f.psi, height: f.psi / top, drifted: f.drifted })),
    top,
    hidden: features.length - shown.length,
  };
}

/** The two REST calls a device makes, as curl commands against this studio. */
export function registrationSteps(origin: string): { register: string; telemetry: string } {
  return {
    register: [
      `curl -X POST ${origin}/api/fleet/devices/register \\`,
      `  -H "x-api-key: $API_KEY" -H "content-type: application/json" \\`,
      `  -d '{"name": "porch-1", "board_id": "nano33ble", "firmware_version": "1.0.0", "training_run_id": RUN_ID}'`,
    ].join("\n"),
    telemetry: [
      `curl -X POST ${origin}/api/fleet/telemetry \\`,
      `  -H "authorization: Bearer $DEVICE_KEY" -H "content-type: application/json" \\`,
      `  -d '{"items": [{"seq": 1, "time": "2026-01-01T12:00:00Z", "label": "idle", "top_score": 0.93,`,
      `                "count": 1, "feature_means": [0.1, 0.4], "feature_variances": [0, 0]}]}'`,
    ].join("\n"),
  };
}
