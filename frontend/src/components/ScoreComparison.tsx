/**
 * How the device's scores compare with the studio's int8 scores in an on-device test: how many
 * windows differ, by how much, and the first of them.
 */
import { Link } from "react-router-dom";
import type { Schemas } from "../api/client";

type Scores = Schemas["ScoreComparison"];

// A null score is one the board printed as NaN.
const list = (values: (number | null)[]) => values.map((v) => (v == null ? "NaN" : v.toFixed(4))).join(", ");

/** One stat for a metrics row: windows with differing scores and the largest difference. */
export function ScoreStat({ scores }: { scores: Scores }) {
  const largest = scores.max_abs_difference == null ? "—" : scores.max_abs_difference.toPrecision(3);
  const steps = scores.max_step_difference ? ` (${scores.max_step_difference} output steps)` : "";
  return (
    <div className="stat" data-metric="scores">
      <span className="stat-value">
        {scores.differing} of {scores.windows}
      </span>
      <span className="stat-label">
        windows whose scores differ from the studio's · largest difference {largest}
        {steps}
      </span>
    </div>
  );
}

/** The first windows whose scores differ, studio against device. */
export function DifferingScores({ scores, projectId }: { scores: Scores; projectId: number }) {
  if (!scores.first_differing.length) return null;
  return (
    <table className="table compact" aria-label="Windows with differing scores">
      <thead>
        <tr>
          <th>Sample</th>
          <th>Window</th>
          <th>Studio int8 scores</th>
          <th>Device scores</th>
        </tr>
      </thead>
      <tbody>
        {scores.first_differing.map((d) => (
          <tr key={`${d.sample_id}-${d.window_index}`}>
            <td>
              <Link to={`/projects/${projectId}/data/${d.sample_id}?window=${d.window_start_ms}`}>{d.sample_name ?? `#${d.sample_id}`}</Link>
            </td>
            <td>
              #{d.window_index} ({d.window_start_ms} ms)
            </td>
            <td>{list(d.studio)}</td>
            <td>{list(d.device)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
