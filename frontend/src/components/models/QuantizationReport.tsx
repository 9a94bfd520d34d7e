/** How far the int8 model strays from the float one it was quantized from, on the uploaded inputs. */
import type { QuantizationReport as Report } from "../../api/models";
import { shareOfRange } from "../../lib/models";
import { percent } from "../../lib/tuner";

const digits = (value: number) => String(Number(value.toPrecision(3)));

function Difference({ metric, value, range, what }: { metric: string; value: number; range: number[]; what: string }) {
  const share = shareOfRange(value, range);
  return (
    <div className="stat" data-metric={metric}>
      <span className="stat-value">{digits(value)}</span>
      <span className="stat-label">
        {what} absolute difference{share !== null && `, ${percent(share)} of the float output range`}
      </span>
    </div>
  );
}

export function QuantizationReport({ report }: { report: Report }) {
  const [low, high] = report.float_output_range;
  return (
    <>
      <div className="metrics">
        <div className="stat" data-metric="top1">
          <span className="stat-value">{percent(report.top1_agreement)}</span>
          <span className="stat-label">
            {report.top1_agreement == null
              ? "no top output to compare (the output has one value)"
              : `of ${report.compared_inputs} inputs get the same top output from int8 as from float`}
          </span>
        </div>
        <Difference metric="mean-difference" value={report.mean_abs_difference} range={report.float_output_range} what="mean" />
        <Difference metric="max-difference" value={report.max_abs_difference} range={report.float_output_range} what="largest" />
        <div className="stat" data-metric="calibration">
          <span className="stat-value">{report.calibration_inputs}</span>
          <span className="stat-label">calibration inputs</span>
        </div>
      </div>
      <p className="muted small">
        Method: {report.method}. The float model's first output ranges from {digits(low)} to {digits(high)} on these inputs; differences are measured on that
        output.
      </p>
    </>
  );
}
