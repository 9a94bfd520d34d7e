/** One drift report (a device, or every device running one model): its verdict, reasons, PSI bars and labels. */
import type { Drift } from "../../api/fleet";
import { trendText } from "../../lib/fleet";
import { Card } from "../ui";
import { PsiChart } from "./PsiChart";

const VERDICT: Record<Drift["status"], string> = {
  ok: "No drift",
  drift: "Drift",
  no_data: "Not enough data",
  no_reference: "No reference",
};

export function DriftCard({ title, drift, threshold }: { title: string; drift: Drift; threshold: number }) {
  const trend = trendText(drift.score_trend_per_day);
  return (
    <Card title={title} actions={<span className={`badge drift-${drift.status}`}>{VERDICT[drift.status]}</span>}>
      <p className="muted small">
        {drift.items} reports ({drift.windows} windows) against {drift.reference_windows} training windows
        {trend && ` · ${trend}`}
      </p>
      {drift.reasons.length > 0 && (
        <div className={drift.alert ? "warning-note drift-alert" : "muted small"} role={drift.alert ? "alert" : undefined}>
          <ul>
            {drift.reasons.map((reason) => (
              <li key={reason}>{reason}</li>
            ))}
          </ul>
        </div>
      )}
      {drift.features.length > 0 && <PsiChart features={drift.features} threshold={threshold} label={`PSI per feature: ${title}`} />}
      {drift.raw_features.length > 0 && (
        <>
          <p className="muted small">{drift.raw_windows} sampled raw windows through the impulse's DSP:</p>
          <PsiChart features={drift.raw_features} threshold={threshold} label={`PSI per feature of sampled raw windows: ${title}`} />
        </>
      )}
      {drift.labels.length > 0 && (
        <table className="table compact" aria-label={`Labels: ${title}`}>
          <thead>
            <tr>
              <th>Label</th>
              <th>Training</th>
              <th>Field</th>
            </tr>
          </thead>
          <tbody>
            {drift.labels.map((l) => (
              <tr key={l.label}>
                <td>{l.label}</td>
                <td>{(l.training * 100).toFixed(0)} %</td>
                <td>{(l.field * 100).toFixed(0)} %</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Card>
  );
}
