/** What a board running TinyStudio firmware says about itself (`info`), with its build's figures. */
import type { Schemas } from "../api/client";
import type { DeviceInfo } from "../lib/device/device";
import { DeviceFigures, figuresView, infoView } from "./DeviceFigures";
import { formatBytes } from "./ui";

/** The anomaly block the firmware reports in `info`, if it has one. */
export function anomalyBlock(info: DeviceInfo | null): { clusters: number; threshold: number } | null {
  const block = info?.anomaly as { clusters?: number; threshold?: number } | null | undefined;
  return block && typeof block.threshold === "number" ? { clusters: block.clusters ?? 0, threshold: block.threshold } : null;
}

/**
 * The board's `info`, and the figures of the build it runs: the build report's when known (they
 * add the latency), else the RAM and flash the firmware itself reports. Both come from the same
 * image, so a difference means the board runs another build than the one chosen.
 */
export function BoardInfoPanel({ info, figures }: { info: DeviceInfo; figures?: Schemas["DeviceFigures"] | null }) {
  const own = infoView(info);
  const block = anomalyBlock(info);
  const differs = figures && own.ram && own.ram.total_bytes !== figures.ram.total_bytes;
  return (
    <div data-testid="board-info">
      <div className="metrics">
        <div className="stat">
          <span className="stat-value">{info.board}</span>
          <span className="stat-label">board</span>
        </div>
        <div className="stat">
          <span className="stat-value">{info.model}</span>
          <span className="stat-label">model · {info.labels.length} labels</span>
        </div>
        <div className="stat">
          <span className="stat-value">{info.signal_values}</span>
          <span className="stat-label">values per window</span>
        </div>
        {block && (
          <div className="stat" data-metric="anomaly-block">
            <span className="stat-value">K-means</span>
            <span className="stat-label">
              anomaly block · {block.clusters} clusters · threshold {block.threshold.toFixed(3)}
            </span>
          </div>
        )}
      </div>
      <DeviceFigures figures={figures ? figuresView(figures) : own} />
      {differs && own.ram && (
        <p className="muted small" data-testid="figures-differ">
          The board reports RAM {formatBytes(own.ram.total_bytes)}, not the build&apos;s {formatBytes(figures.ram.total_bytes)}: it runs another image.
        </p>
      )}
    </div>
  );
}
