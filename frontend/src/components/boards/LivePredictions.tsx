/** Live classification on a board; what it shows: the newest window's answer, the raw signal with that window
 * marked, the scores over time and every window's scores. */
import { anomalyBlock } from "../BoardInfo";
import type { Schemas } from "../../api/client";
import { LineChart } from "../LineChart";
import { Card } from "../ui";
import type { Classification, DeviceInfo } from "../../lib/device/device";

export interface Prediction extends Classification {
  startMs: number;
}

export interface ClassifiedSignal {
  t: number[];
  values: number[][];
  names: string[];
  windowMs: number;
}

function LivePredictions({
  predictions,
  labels,
  signal,
  info,
}: {
  predictions: Prediction[];
  labels: string[];
  signal: ClassifiedSignal | null;
  info: DeviceInfo | null;
}) {
  const latest = predictions[predictions.length - 1];
  return (
    <>
      {latest && (
        <div className="metrics" data-testid="live-prediction">
          <div className="stat">
            <span className="stat-value" data-testid="live-label">
              {latest.label}
            </span>
            <span className="stat-label">
              window at {latest.startMs} ms · {predictions.length} classified
            </span>
          </div>
          <div className="stat">
            <span className="stat-value">{latest.dsp_us} µs</span>
            <span className="stat-label">DSP{latest.timing === "virtual" ? " (virtual time)" : ""}</span>
          </div>
          <div className="stat">
            <span className="stat-value">{latest.inference_us} µs</span>
            <span className="stat-label">inference{latest.timing === "virtual" ? " (virtual time)" : ""}</span>
          </div>
          {latest.anomaly != null && (
            <div className="stat" data-testid="live-anomaly">
              <span className="stat-value">{latest.anomaly.toFixed(3)}</span>
              <span className="stat-label">
                anomaly score
                {anomalyBlock(info) ? (latest.anomaly > anomalyBlock(info)!.threshold ? " · above the threshold: anomalous" : " · below the threshold") : ""}
              </span>
            </div>
          )}
        </div>
      )}
      {signal && (
        <div className="side-by-side">
          <div>
            <h3>Raw signal</h3>
            <LineChart
              t={signal.t}
              series={signal.names.map((name, a) => ({ name, values: signal.values.map((v) => v[a]) }))}
              highlight={latest ? [latest.startMs, latest.startMs + signal.windowMs] : null}
              label="Raw signal"
              height={200}
            />
          </div>
          <div>
            <h3>Scores over time</h3>
            {predictions.length > 0 && (
              <LineChart
                t={predictions.map((p) => p.startMs)}
                series={labels.map((name, i) => ({ name, values: predictions.map((p) => p.scores[i] ?? 0) }))}
                live
                label="Scores per window"
                height={200}
              />
            )}
          </div>
        </div>
      )}
      {predictions.length > 0 && (
        <details>
          <summary>Every window ({predictions.length})</summary>
          <table className="table compact" aria-label="Predictions per window">
            <thead>
              <tr>
                <th>Window</th>
                <th>Label</th>
                {labels.map((l) => (
                  <th key={l}>{l}</th>
                ))}
                <th>DSP</th>
                <th>Inference</th>
              </tr>
            </thead>
            <tbody>
              {predictions.map((p) => (
                <tr key={p.startMs}>
                  <td>{p.startMs} ms</td>
                  <td>{p.label}</td>
                  {p.scores.map((s, i) => (
                    <td key={i}>{s == null ? "—" : s.toFixed(3)}</td>
                  ))}
                  <td>{p.dsp_us} µs</td>
                  <td>{p.inference_us} µs</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
    </>
  );
}

interface CardProps {
  samples: Schemas["SampleOut"][];
  sample: number | null;
  onSample: (sampleId: number) => void;
  busy: string | null;
  onClassify: () => void;
  onStop: () => void;
  predictions: Prediction[];
  labels: string[];
  signal: ClassifiedSignal | null;
  info: DeviceInfo | null;
}

/** Classify a sample's windows one by one on the board and watch the answers come. */
export function LiveClassificationCard({ samples, sample, onSample, busy, onClassify, onStop, ...shown }: CardProps) {
  return (
    <Card title="Live classification">
      <div className="inline-form">
        <label className="field">
          <span>Sample</span>
          <select name="sample" value={sample ?? ""} onChange={(e) => onSample(Number(e.target.value))}>
            {samples.map((s) => (
              <option key={s.id} value={s.id}>
                {s.name} · {s.label ?? "unlabelled"} · {s.category}
              </option>
            ))}
          </select>
        </label>
        <button className="btn btn-primary" disabled={busy !== null || sample === null} onClick={onClassify}>
          {busy === "Classifying" ? "Classifying…" : "Classify sample live"}
        </button>
        {busy === "Classifying" && (
          <button className="btn btn-small" onClick={onStop}>
            Stop
          </button>
        )}
      </div>
      <LivePredictions {...shown} />
    </Card>
  );
}
