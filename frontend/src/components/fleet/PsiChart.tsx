/** Per-feature PSI as SVG bars, with the alert threshold drawn across them. */
import type { FeatureDrift } from "../../api/fleet";
import { psiBars } from "../../lib/fleet";
import { formatTick } from "../LineChart";

const W = 640;
const H = 180;
const PAD = { left: 40, right: 8, top: 8, bottom: 22 };

export function PsiChart({ features, threshold, label }: { features: FeatureDrift[]; threshold: number; label: string }) {
  const { bars, top, hidden } = psiBars(features, threshold);
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const step = plotW / Math.max(bars.length, 1);
  const y = (v: number) => PAD.top + (1 - v / top) * plotH;
  return (
    <figure className="psi-chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={label}>
        <text x={4} y={y(top) + 10} className="tick">
          {formatTick(top)}
        </text>
        <text x={4} y={y(0)} className="tick">
          0
        </text>
        {bars.map((b, i) => (
          <rect
            key={b.name}
            x={PAD.left + i * step + step * 0.15}
            width={step * 0.7}
            y={y(b.psi)}
            height={Math.max(0, b.height * plotH)}
            className={b.drifted ? "psi-bar drifted" : "psi-bar"}
            data-feature={b.name}
          >
            <title>{`${b.name}: PSI ${b.psi.toFixed(3)}`}</title>
          </rect>
        ))}
        {bars.length <= 16 &&
          bars.map((b, i) => (
            <text key={b.name} x={PAD.left + (i + 0.5) * step} y={H - 6} textAnchor="middle" className="tick">
              {b.index}
            </text>
          ))}
        <line x1={PAD.left} x2={W - PAD.right} y1={y(threshold)} y2={y(threshold)} className="psi-threshold" />
        <text x={W - PAD.right} y={y(threshold) - 4} textAnchor="end" className="tick">
          alert above {threshold}
        </text>
      </svg>
      <figcaption className="muted small">
        Population stability index of each feature (by its index; hover a bar for its name) against the training windows
        {hidden > 0 ? `; the ${bars.length} largest of ${features.length} shown` : ""}.
      </figcaption>
    </figure>
  );
}
