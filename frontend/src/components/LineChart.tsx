/** An SVG line chart for sensor axes: drag to zoom (or to select a range), wheel to zoom, keys to pan. */
import { useMemo, useRef, useState, type KeyboardEvent, type PointerEvent, type WheelEvent } from "react";
import { minMaxDownsample, niceTicks, valueRange, visibleSlice } from "../lib/downsample";

export const AXIS_COLORS = ["#4f46e5", "#e11d48", "#059669", "#d97706", "#0891b2", "#9333ea", "#65a30d", "#db2777"];

export interface Series {
  name: string;
  values: number[];
}

interface Props {
  t: number[];
  series: Series[];
  height?: number;
  /** "zoom": dragging zooms in; "select": dragging reports a range through onSelect. */
  dragMode?: "zoom" | "select";
  onSelect?: (range: [number, number] | null) => void;
  selection?: [number, number] | null;
  /** Live plots have no interaction and keep their full extent. */
  live?: boolean;
  /** A fixed time extent (ms), e.g. the last five seconds of a live plot. */
  domain?: [number, number];
  /** How to write an x tick (default: milliseconds or seconds). */
  xFormat?: (value: number) => string;
  /** The smallest step between x ticks, e.g. 1 when x counts epochs. */
  xStep?: number;
  /** Times (ms) marked by dashed vertical lines, e.g. where a split would cut. */
  marks?: number[];
  /** A time range shown as a highlighted band (e.g. one window opened from a chart). */
  highlight?: [number, number] | null;
  /** Width of the drawing in its own units; smaller widths give larger text. */
  width?: number;
  label: string;
}

/** A short y tick label: 12000 → "12k", 0.25 → "0.25". */
export function formatTick(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${Number((v / 1e6).toPrecision(3))}M`;
  if (a >= 1e3) return `${Number((v / 1e3).toPrecision(3))}k`;
  return String(Number(v.toPrecision(3)));
}

const PAD = { left: 48, right: 28, top: 10, bottom: 24 };

export function LineChart({
  t,
  series,
  height = 260,
  dragMode = "zoom",
  onSelect,
  selection,
  live = false,
  domain,
  xFormat,
  xStep = 0,
  width: WIDTH = 800,
  marks,
  highlight,
  label,
}: Props) {
  const fullRange: [number, number] = domain ?? (t.length ? [t[0], t[t.length - 1] > t[0] ? t[t.length - 1] : t[0] + 1] : [0, 1]);
  const [view, setView] = useState<[number, number] | null>(null);
  const [drag, setDrag] = useState<{ from: number; to: number } | null>(null);
  const svgRef = useRef<SVGSVGElement>(null);
  const [from, to] = !live && view ? view : fullRange;
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = height - PAD.top - PAD.bottom;

  const visible = useMemo(() => {
    const [a, b] = visibleSlice(t, from, to);
    const tt = t.slice(a, b);
    return series.map((s) => ({ name: s.name, ...minMaxDownsample(tt, s.values.slice(a, b), plotW * 2) }));
  }, [t, series, from, to, plotW]);
  const [lo, hi] = valueRange(visible.map((s) => s.y));
  const span = to - from || 1;
  const x = (v: number) => PAD.left + ((v - from) / span) * plotW;
  const y = (v: number) => PAD.top + (1 - (v - lo) / (hi - lo)) * plotH;
  const timeAt = (clientX: number) => {
    const rect = svgRef.current?.getBoundingClientRect();
    if (!rect) return from;
    const px = ((clientX - rect.left) / rect.width) * WIDTH;
    return from + Math.max(0, Math.min(1, (px - PAD.left) / plotW)) * span;
  };
  const clampView = (a: number, b: number): [number, number] | null => {
    const minSpan = Math.max(1, (fullRange[1] - fullRange[0]) / 2000);
    if (b - a < minSpan) b = a + minSpan;
    a = Math.max(fullRange[0], a);
    b = Math.min(fullRange[1], b);
    if (a <= fullRange[0] && b >= fullRange[1]) return null;
    return [a, b];
  };

  function onPointerDown(e: PointerEvent<SVGSVGElement>) {
    if (live || e.button !== 0) return;
    (e.target as Element).setPointerCapture?.(e.pointerId);
    const at = timeAt(e.clientX);
    setDrag({ from: at, to: at });
  }
  function onPointerMove(e: PointerEvent<SVGSVGElement>) {
    if (drag) setDrag({ ...drag, to: timeAt(e.clientX) });
  }
  function onPointerUp() {
    if (!drag) return;
    const a = Math.min(drag.from, drag.to);
    const b = Math.max(drag.from, drag.to);
    setDrag(null);
    if (b - a < span / 200) return;
    if (dragMode === "select") onSelect?.([a, b]);
    else setView(clampView(a, b));
  }
  function onWheel(e: WheelEvent<SVGSVGElement>) {
    if (live) return;
    const at = timeAt(e.clientX);
    const factor = e.deltaY > 0 ? 1.25 : 0.8;
    setView(clampView(at - (at - from) * factor, at + (to - at) * factor));
  }
  function onKeyDown(e: KeyboardEvent<SVGSVGElement>) {
    if (live) return;
    const mid = (from + to) / 2;
    const shift = span * 0.2;
    if (e.key === "+" || e.key === "=") setView(clampView(mid - span * 0.4, mid + span * 0.4));
    else if (e.key === "-") setView(clampView(mid - span * 0.625, mid + span * 0.625));
    else if (e.key === "ArrowLeft") setView(clampView(from - shift, to - shift));
    else if (e.key === "ArrowRight") setView(clampView(from + shift, to + shift));
    else if (e.key === "0" || e.key === "Escape") setView(null);
    else return;
    e.preventDefault();
  }

  const yTicks = niceTicks(lo, hi, 4);
  const xTicks = niceTicks(from, to, 6, xStep);
  const band = drag ? [Math.min(drag.from, drag.to), Math.max(drag.from, drag.to)] : selection;
  return (
    <figure className="chart">
      <svg
        ref={svgRef}
        viewBox={`0 0 ${WIDTH} ${height}`}
        role="img"
        aria-label={`${label}: ${series.map((s) => s.name).join(", ")}${live ? "" : ". Drag or use the mouse wheel or + and - keys to zoom, arrows to pan, 0 to reset."}`}
        tabIndex={live ? -1 : 0}
        onPointerDown={onPointerDown}
        onPointerMove={onPointerMove}
        onPointerUp={onPointerUp}
        onWheel={onWheel}
        onKeyDown={onKeyDown}
        onDoubleClick={() => setView(null)}
        className={live ? "chart-svg" : "chart-svg interactive"}
      >
        {yTicks.map((v) => (
          <g key={`y${v}`}>
            <line x1={PAD.left} x2={WIDTH - PAD.right} y1={y(v)} y2={y(v)} className="grid-line" />
            <text x={PAD.left - 6} y={y(v) + 4} textAnchor="end" className="tick">
              {formatTick(v)}
            </text>
          </g>
        ))}
        {xTicks.map((v) => (
          <text key={`x${v}`} x={x(v)} y={height - 6} textAnchor="middle" className="tick">
            {xFormat ? xFormat(v) : span > 5000 ? `${(v / 1000).toFixed(span > 20000 ? 0 : 1)} s` : `${Math.round(v)} ms`}
          </text>
        ))}
        <clipPath id={`clip-${label.replace(/\W/g, "")}`}>
          <rect x={PAD.left} y={PAD.top} width={plotW} height={plotH} />
        </clipPath>
        <g clipPath={`url(#clip-${label.replace(/\W/g, "")})`}>
          {visible.map((s, i) => (
            <polyline
              key={s.name}
              fill="none"
              stroke={AXIS_COLORS[i % AXIS_COLORS.length]}
              strokeWidth={1.5}
              vectorEffect="non-scaling-stroke"
              points={s.t.map((tv, j) => `${x(tv).toFixed(1)},${y(s.y[j]).toFixed(1)}`).join(" ")}
            />
          ))}
          {marks?.map((m) => (
            <line key={`m${m}`} x1={x(m)} x2={x(m)} y1={PAD.top} y2={PAD.top + plotH} className="chart-mark" />
          ))}
          {highlight && (
            <rect
              x={x(highlight[0])}
              y={PAD.top}
              width={Math.max(1, x(highlight[1]) - x(highlight[0]))}
              height={plotH}
              className="chart-highlight"
              data-testid="window-highlight"
            />
          )}
          {band && <rect x={x(band[0])} y={PAD.top} width={Math.max(1, x(band[1]) - x(band[0]))} height={plotH} className="chart-band" />}
        </g>
      </svg>
      <figcaption className="legend">
        {series.map((s, i) => (
          <span key={s.name}>
            <i className="dot" style={{ background: AXIS_COLORS[i % AXIS_COLORS.length] }} /> {s.name}
          </span>
        ))}
        {!live && view && (
          <button type="button" className="btn btn-small btn-ghost" onClick={() => setView(null)}>
            Reset zoom
          </button>
        )}
      </figcaption>
    </figure>
  );
}
