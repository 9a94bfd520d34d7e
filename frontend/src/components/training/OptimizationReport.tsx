/** An optimized run beside its baseline: accuracy and the device figures both builds measured,
 * with the change, and what each optimization step reports. */
import { compareRows, optimizationName, type OptimizationReport as Report } from "../../lib/optimization";
import { Card } from "../ui";

interface Evaluated {
  evaluation?: Record<string, Record<string, { accuracy?: number } | undefined> | undefined> | null;
}

const testAccuracy = (e: Evaluated | undefined, precision: "float32" | "int8") => e?.evaluation?.[precision]?.test?.accuracy;
const percent = (v: unknown) => (typeof v === "number" ? `${(v * 100).toFixed(1)} %` : "—");

function StepFacts({ title, facts }: { title: string; facts: Record<string, unknown> | undefined }) {
  if (!facts) return null;
  const simple = Object.entries(facts).filter(([, v]) => ["string", "number", "boolean"].includes(typeof v));
  return (
    <details>
      <summary>{title}</summary>
      <dl className="facts">
        {simple.map(([k, v]) => (
          <div key={k}>
            <dt>{k.replaceAll("_", " ")}</dt>
            <dd>{typeof v === "number" && !Number.isInteger(v) ? v.toFixed(4) : String(v)}</dd>
          </div>
        ))}
      </dl>
    </details>
  );
}

export function OptimizationReport({
  runId,
  params,
  result,
  baselineId,
  baseline,
}: {
  runId: number;
  params: Record<string, unknown>;
  result: Evaluated & { optimization?: Report | null };
  baselineId: number | null;
  baseline: Evaluated | undefined;
}) {
  const report = result.optimization;
  if (!report) return null;
  const rows = compareRows(
    { float32: testAccuracy(baseline, "float32"), int8: testAccuracy(baseline, "int8") },
    { float32: testAccuracy(result, "float32"), int8: testAccuracy(result, "int8") },
    report.device,
  );
  const companions = Object.entries(report.companions ?? {});
  return (
    <Card title={`Optimization: ${optimizationName(params)}`}>
      <p className="muted small">
        Run #{runId} {baselineId ? <>against its baseline, run #{baselineId}</> : <>(no baseline run to compare with)</>}
        {report.device?.board_id ? `; device figures measured on ${report.device.board_id} (both models built as firmware and run in QEMU).` : "."}
      </p>
      {report.device?.error && <p className="error-note">The models could not be measured on the board: {report.device.error}</p>}
      <div className="table-wrap">
        <table className="table compact" aria-label="Baseline and optimized model side by side">
          <thead>
            <tr>
              <th>Figure</th>
              <th>Baseline</th>
              <th>Optimized</th>
              <th>Change</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.figure}>
                <td>{r.figure}</td>
                <td>{r.baseline}</td>
                <td>{r.optimized}</td>
                <td className={r.better === true ? "ok-text" : r.better === false ? "error-text" : "muted"}>{r.delta}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {typeof report.pruning?.note === "string" && <p className="muted small">{report.pruning.note}</p>}
      {companions.length > 0 && (
        <>
          <h3>Distillation</h3>
          <div className="table-wrap">
            <table className="table compact" aria-label="Teacher, student alone and distilled student">
              <thead>
                <tr>
                  <th>Model</th>
                  <th>float32 test</th>
                  <th>int8 test</th>
                  <th>int8 file</th>
                </tr>
              </thead>
              <tbody>
                {companions.map(([name, c]) => (
                  <tr key={name}>
                    <td>{name.replaceAll("_", " ")}</td>
                    <td>{percent(c.float32_test?.accuracy)}</td>
                    <td>{percent(c.int8_test?.accuracy)}</td>
                    <td>{c.int8_tflite_bytes?.toLocaleString("en-US") ?? "—"} B</td>
                  </tr>
                ))}
                <tr>
                  <td>distilled student (this run)</td>
                  <td>{percent(testAccuracy(result, "float32"))}</td>
                  <td>{percent(testAccuracy(result, "int8"))}</td>
                  <td>—</td>
                </tr>
              </tbody>
            </table>
          </div>
        </>
      )}
      <StepFacts title="Distillation details" facts={report.distillation} />
      <StepFacts title="Pruning details" facts={report.pruning} />
      <StepFacts title="Quantization-aware training details" facts={report.qat} />
    </Card>
  );
}
