/** Accuracy against RAM and against latency for a run's measured trials, with the budgets drawn. */
import { formatTick } from "../LineChart";
import { niceTicks, valueRange } from "../../lib/downsample";
import { chartPoints, formatKb, formatMs, frontLine, type ChartPoint } from "../../lib/tuner";
import type { TunerBudgets, TunerTrial } from "../../api/tuner";

const W = 400;
const H = 280;
const PAD = { left: 56, right: 18, top: 32, bottom: 46 };
const FIT = "#4f46e5";
const FRONT = "#059669";
const BEST = "#d97706";
const BUDGET = "#c81e4b";
// How far past the farthest trial a budget may lie and still be drawn to scale.
const FAR_BUDGET = 3;

interface PanelProps {
  points: ChartPoint[];
  budget: number;
  title: string;
  xTitle: string;
  /** Chart units from the trial's figure (bytes → KB). */
  scale: (x: number) => number;
  budgetText: string;
}

function Panel({ points, budget, title, xTitle, scale, budgetText }: PanelProps) {
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const budgetAt = scale(budget);
  const farthest = Math.max(0, ...points.map((p) => scale(p.x)));
  // A budget far beyond every trial would squeeze the points against the axis: it is named at the edge instead.
  const budgetShown = points.length === 0 || budgetAt <= farthest * FAR_BUDGET;
  const xMax = (budgetShown ? Math.max(budgetAt, farthest) * 1.08 : farthest * 1.15) || 1;
  const accuracies = points.map((p) => p.accuracy * 100);
  const [lowest] = valueRange([accuracies]);
  const yLo = points.length ? Math.max(0, Math.floor((lowest - 5) / 10) * 10) : 0;
  const yHi = 100;
  const sx = (v: number) => PAD.left + (v / xMax) * plotW;
  const sy = (v: number) => PAD.top + (1 - (v - yLo) / (yHi - yLo)) * plotH;
  const px = (p: ChartPoint) => sx(scale(p.x));
  const py = (p: ChartPoint) => sy(p.accuracy * 100);
  const budgetX = budgetShown ? sx(budgetAt) : W - PAD.right;
  const front = frontLine(points);
  const best = points.find((p) => p.best);
  return (
    <figure className="chart tuner-panel">
      <svg viewBox={`0 0 ${W} ${H}`} className="chart-svg" role="group" aria-label={`${title}: ${points.length} measured trials`}>
        <rect x={PAD.left} y={PAD.top} width={plotW} height={plotH} fill="#fafbfd" />
        {niceTicks(yLo, yHi, 4).map((v) => (
          <g key={`y${v}`}>
            <line x1={PAD.left} x2={W - PAD.right} y1={sy(v)} y2={sy(v)} className="grid-line" />
            <text x={PAD.left - 6} y={sy(v) + 4} textAnchor="end" className="tick">
              {formatTick(v)}
            </text>
          </g>
        ))}
        {niceTicks(0, xMax, 5).map((v) => (
          <text key={`x${v}`} x={sx(v)} y={H - PAD.bottom + 16} textAnchor="middle" className="tick">
            {formatTick(v)}
          </text>
        ))}
        <text x={PAD.left + plotW / 2} y={H - 8} textAnchor="middle" className="axis-title">
          {xTitle}
        </text>
        <text transform={`translate(14 ${PAD.top + plotH / 2}) rotate(-90)`} textAnchor="middle" className="axis-title">
          int8 validation accuracy (%)
        </text>
        {budgetShown && <line x1={budgetX} x2={budgetX} y1={PAD.top} y2={PAD.top + plotH} stroke={BUDGET} strokeDasharray="5 4" data-testid="budget-line" />}
        <text x={budgetX} y={PAD.top - 12} textAnchor={budgetX > W - 90 ? "end" : "middle"} className="budget-label" fill={BUDGET} data-testid="budget-label">
          {budgetShown ? budgetText : `${budgetText} →`}
        </text>
        {front.length > 1 && (
          <polyline
            points={front.map((p) => `${px(p).toFixed(1)},${py(p).toFixed(1)}`).join(" ")}
            fill="none"
            stroke={FRONT}
            strokeWidth={1.5}
            data-testid="pareto-line"
          />
        )}
        {points.map((p) => (
          <circle
            key={p.number}
            cx={px(p)}
            cy={py(p)}
            r={5}
            fill={p.fits ? FIT : "#fff"}
            stroke={p.pareto ? FRONT : FIT}
            strokeWidth={p.pareto ? 2 : 1.5}
            data-trial={p.number}
            data-fits={p.fits}
          >
            <title>{p.title}</title>
          </circle>
        ))}
        {best && (
          <g data-testid="best-mark">
            <circle cx={px(best)} cy={py(best)} r={9.5} fill="none" stroke={BEST} strokeWidth={2} />
            <text
              x={px(best) + (px(best) > W - 110 ? -14 : 14)}
              y={py(best) + (py(best) < PAD.top + 24 ? 20 : 4)}
              textAnchor={px(best) > W - 110 ? "end" : "start"}
              className="best-label"
              fill={BEST}
            >
              best: trial {best.number}
            </text>
          </g>
        )}
        {points.length === 0 && (
          <text x={PAD.left + plotW / 2} y={PAD.top + plotH / 2} textAnchor="middle" className="tick">
            no trial measured yet
          </text>
        )}
      </svg>
      <figcaption className="muted small">{title}</figcaption>
    </figure>
  );
}

/** The two panels: int8 validation accuracy against impulse RAM and against latency per window. */
export function ParetoChart({ trials, budgets }: { trials: TunerTrial[]; budgets: TunerBudgets }) {
  return (
    <div data-testid="pareto-chart">
      <div className="side-by-side">
        <Panel
          points={chartPoints(trials, "ram")}
          budget={budgets.ram_bytes}
          scale={(b) => b / 1024}
          title="Accuracy against impulse RAM"
          xTitle="impulse RAM (KB)"
          budgetText={`RAM budget ${formatKb(budgets.ram_bytes)}`}
        />
        <Panel
          points={chartPoints(trials, "latency")}
          budget={budgets.latency_ms}
          scale={(ms) => ms}
          title="Accuracy against time per window"
          xTitle="latency per window (ms)"
          budgetText={`latency budget ${formatMs(budgets.latency_ms)}`}
        />
      </div>
      <p className="legend tuner-legend">
        <span>
          <i className="dot" style={{ background: FIT }} /> fits every budget
        </span>
        <span>
          <i className="dot dot-hollow" style={{ borderColor: FIT }} /> over a budget
        </span>
        <span>
          <i className="legend-line" style={{ background: FRONT }} /> Pareto front (accuracy, RAM, latency)
        </span>
        <span>
          <i className="dot dot-hollow" style={{ borderColor: BEST }} /> best fitting trial
        </span>
        <span>
          <i className="legend-line legend-dashed" style={{ borderColor: BUDGET }} /> budget
        </span>
      </p>
    </div>
  );
}
