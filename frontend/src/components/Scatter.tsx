/** The feature explorer: windows as points in 2-D, coloured by label; a click opens the window's sample. */
import { AXIS_COLORS } from "./LineChart";
import { valueRange } from "../lib/downsample";

export interface ScatterPoint {
  x: number;
  y: number;
  label: string | null;
  sample_id: number;
  window_start_ms: number;
  category?: string;
}

const W = 640;
const H = 400;
const PAD = 16;

export function Scatter({ points, onOpen }: { points: ScatterPoint[]; onOpen: (p: ScatterPoint) => void }) {
  const labels = [...new Set(points.map((p) => p.label ?? "(none)"))].sort();
  const color = (label: string | null) => AXIS_COLORS[labels.indexOf(label ?? "(none)") % AXIS_COLORS.length];
  const [x0, x1] = valueRange([points.map((p) => p.x)]);
  const [y0, y1] = valueRange([points.map((p) => p.y)]);
  const sx = (v: number) => PAD + ((v - x0) / (x1 - x0)) * (W - 2 * PAD);
  const sy = (v: number) => H - PAD - ((v - y0) / (y1 - y0)) * (H - 2 * PAD);
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${W} ${H}`} className="chart-svg scatter" role="group" aria-label={`Feature explorer: ${points.length} windows`}>
        <rect x={0} y={0} width={W} height={H} fill="#fafbfd" />
        {points.map((p, i) => (
          <circle
            key={i}
            cx={sx(p.x)}
            cy={sy(p.y)}
            r={4.5}
            fill={color(p.label)}
            fillOpacity={p.category === "testing" ? 0.35 : 0.8}
            stroke={p.category === "testing" ? color(p.label) : "none"}
            tabIndex={0}
            role="button"
            aria-label={`${p.label ?? "unlabelled"}, sample ${p.sample_id} at ${Math.round(p.window_start_ms)} ms`}
            onClick={() => onOpen(p)}
            onKeyDown={(e) => {
              if (e.key === "Enter" || e.key === " ") onOpen(p);
            }}
            className="point"
          >
            <title>{`${p.label ?? "unlabelled"} · sample ${p.sample_id} @ ${Math.round(p.window_start_ms)} ms`}</title>
          </circle>
        ))}
      </svg>
      <figcaption className="legend">
        {labels.map((l) => (
          <span key={l}>
            <i className="dot" style={{ background: color(l === "(none)" ? null : l) }} /> {l}
          </span>
        ))}
        <span className="muted small">hollow: testing windows · click a point to open its sample</span>
      </figcaption>
    </figure>
  );
}

/** Features of one window as bars. */
export function FeatureBars({ values, names }: { values: number[]; names?: string[] | null }) {
  const [lo, hi] = valueRange([[...values, 0]]);
  const width = 640;
  const height = 180;
  const bar = width / Math.max(1, values.length);
  const y = (v: number) => 8 + (1 - (v - lo) / (hi - lo)) * (height - 16);
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${width} ${height}`} className="chart-svg" role="img" aria-label={`${values.length} features`}>
        <line x1={0} x2={width} y1={y(0)} y2={y(0)} className="grid-line" />
        {values.map((v, i) => (
          <rect
            key={i}
            x={i * bar + bar * 0.1}
            width={Math.max(0.5, bar * 0.8)}
            y={Math.min(y(0), y(v))}
            height={Math.max(0.5, Math.abs(y(v) - y(0)))}
            fill="#4f46e5"
          >
            <title>{`${names?.[i] ?? `feature ${i}`}: ${v.toPrecision(4)}`}</title>
          </rect>
        ))}
      </svg>
      <figcaption className="muted small">{values.length} features (hover a bar for its name and value)</figcaption>
    </figure>
  );
}
