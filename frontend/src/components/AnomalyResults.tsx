/**
 * An anomaly (K-means) run's test results: ROC AUC, threshold, a histogram of the test windows'
 * scores with normal windows apart from the rest and the threshold drawn in, and a table per label.
 */
import { useMemo } from "react";
import { labelSummaries, scoreHistogram, type ScoredWindow } from "../lib/anomalyScores";
import { Card } from "./ui";

const WIDTH = 640;
const HEIGHT = 220;
const PAD = { left: 36, right: 12, top: 12, bottom: 30 };

interface Props {
  threshold: number;
  auc: number | null | undefined;
  normalLabels: string[];
  windows: ScoredWindow[];
}

export function AnomalyResults({ threshold, auc, normalLabels, windows }: Props) {
  const histogram = useMemo(() => scoreHistogram(windows, normalLabels, threshold), [windows, normalLabels, threshold]);
  const labels = useMemo(() => labelSummaries(windows, normalLabels, threshold), [windows, normalLabels, threshold]);
  const { edges, normal, other } = histogram;
  const most = Math.max(1, ...normal.map((n, i) => n + other[i]));
  const x = (v: number) => PAD.left + ((v - edges[0]) / (edges[edges.length - 1] - edges[0])) * (WIDTH - PAD.left - PAD.right);
  const y = (n: number) => HEIGHT - PAD.bottom - (n / most) * (HEIGHT - PAD.top - PAD.bottom);
  const flagged = labels.reduce((a, l) => a + l.flagged, 0);
  const total = labels.reduce((a, l) => a + l.windows, 0);
  return (
    <Card title="Results (anomaly detection)">
      <div className="metrics" data-testid="anomaly-results">
        <div className="stat">
          <span className="stat-value">{auc == null ? "—" : auc.toFixed(3)}</span>
          <span className="stat-label">ROC AUC on the test set (normal labels against the rest)</span>
        </div>
        <div className="stat">
          <span className="stat-value">{threshold.toFixed(3)}</span>
          <span className="stat-label">threshold: a window scoring above it is anomalous</span>
        </div>
        <div className="stat">
          <span className="stat-value">
            {flagged} of {total}
          </span>
          <span className="stat-label">test windows anomalous</span>
        </div>
        <div className="stat">
          <span className="stat-value small">{normalLabels.join(", ") || "—"}</span>
          <span className="stat-label">normal labels (trained on)</span>
        </div>
      </div>
      {total > 0 && (
        <svg
          viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
          className="chart-svg"
          role="img"
          aria-label="Anomaly scores of the test windows: normal labels and the rest, with the threshold"
        >
          {normal.map((n, i) => {
            const x0 = x(edges[i]) + 1;
            const w = Math.max(1, x(edges[i + 1]) - x(edges[i]) - 2);
            return (
              <g key={i}>
                {n > 0 && (
                  <rect x={x0} y={y(n)} width={w} height={y(0) - y(n)} fill="#4f46e5">
                    <title>{`${n} normal window(s), score ${edges[i].toFixed(3)} to ${edges[i + 1].toFixed(3)}`}</title>
                  </rect>
                )}
                {other[i] > 0 && (
                  <rect x={x0} y={y(n + other[i])} width={w} height={y(n) - y(n + other[i])} fill="#e11d48">
                    <title>{`${other[i]} other window(s), score ${edges[i].toFixed(3)} to ${edges[i + 1].toFixed(3)}`}</title>
                  </rect>
                )}
              </g>
            );
          })}
          <line x1={PAD.left} x2={WIDTH - PAD.right} y1={y(0)} y2={y(0)} stroke="#94a3b8" />
          <line x1={x(threshold)} x2={x(threshold)} y1={PAD.top} y2={y(0)} stroke="#0f172a" strokeDasharray="4 3" />
          <text x={x(threshold) + 4} y={PAD.top + 10} fontSize="11" fill="#0f172a">
            threshold
          </text>
          <text x={PAD.left} y={HEIGHT - 8} fontSize="11" fill="#64748b">
            {edges[0].toFixed(2)}
          </text>
          <text x={WIDTH - PAD.right} y={HEIGHT - 8} fontSize="11" fill="#64748b" textAnchor="end">
            {edges[edges.length - 1].toFixed(2)}
          </text>
          <text x={(PAD.left + WIDTH - PAD.right) / 2} y={HEIGHT - 8} fontSize="11" fill="#64748b" textAnchor="middle">
            anomaly score
          </text>
          <text x={4} y={PAD.top + 10} fontSize="11" fill="#64748b">
            {most}
          </text>
        </svg>
      )}
      <p className="muted small">
        <span style={{ color: "#4f46e5" }}>■</span> windows of normal labels · <span style={{ color: "#e11d48" }}>■</span> every other window
      </p>
      <div className="table-wrap">
        <table className="table compact" aria-label="Anomaly scores per label">
          <thead>
            <tr>
              <th>Label</th>
              <th>Normal</th>
              <th>Test windows</th>
              <th>Mean score</th>
              <th>Anomalous</th>
            </tr>
          </thead>
          <tbody>
            {labels.map((l) => (
              <tr key={l.label}>
                <td>{l.label}</td>
                <td>{l.normal ? "yes" : "no"}</td>
                <td>{l.windows}</td>
                <td>{l.meanScore.toFixed(3)}</td>
                <td>
                  {l.flagged} ({((100 * l.flagged) / l.windows).toFixed(0)} %)
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Card>
  );
}
