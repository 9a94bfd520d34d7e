/** A model's operators by kind; the ones the compiler refuses named with their layer, beside the ones it takes. */
import { useSupportedOps, type ModelInfo } from "../../api/models";
import { operatorCounts } from "../../lib/models";
import { ErrorNote } from "../ui";

function Refusal({ info }: { info: ModelInfo }) {
  const refused = info.operators.filter((o) => !o.supported);
  const supported = useSupportedOps();
  return (
    <div className="warning-note" data-testid="compiler-refusal">
      <p>
        <strong>The compiler cannot generate C for this model</strong>, so it cannot be profiled on the boards or built as a C library.
      </p>
      {refused.length > 0 ? (
        <div className="table-wrap">
          <table className="table compact" aria-label="Operators the compiler does not take">
            <thead>
              <tr>
                <th>#</th>
                <th>Operator</th>
                <th>Layer</th>
              </tr>
            </thead>
            <tbody>
              {refused.map((o) => (
                <tr key={o.index} data-op={o.op}>
                  <td>{o.index}</td>
                  <td>
                    <code>{o.op}</code>
                  </td>
                  <td className="layer-name">{o.layer}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        info.compiler.reason && <p>{info.compiler.reason}</p>
      )}
      <p className="small" data-testid="supported-ops">
        Rebuild those layers from operators it takes, then upload the model again. The compiler takes:{" "}
        {supported.data
          ? supported.data.map((op, i) => (
              <span key={op}>
                {i > 0 && ", "}
                <code>{op}</code>
              </span>
            ))
          : "…"}
        .
      </p>
      <ErrorNote error={supported.error} />
    </div>
  );
}

export function OperatorList({ info }: { info: ModelInfo }) {
  return (
    <>
      <h3>Operators ({info.operators.length})</h3>
      <ul className="op-counts" aria-label="Operators by kind">
        {operatorCounts(info).map(({ op, count, supported }) => (
          <li
            key={op}
            className={supported ? "op-count" : "op-count op-refused"}
            data-op={op}
            title={supported ? undefined : "the compiler does not take this operator"}
          >
            <code>{op}</code> × {count}
          </li>
        ))}
      </ul>
      {!info.compiler.supported && <Refusal info={info} />}
    </>
  );
}
