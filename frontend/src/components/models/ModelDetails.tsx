/** What an imported model is: its size and cost at a glance, its inputs and outputs, its operators. */
import type { ModelInfo, TensorInfo } from "../../api/models";
import { formatCount, formatScale, formatShape } from "../../lib/models";
import { formatBytes } from "../ui";
import { OperatorList } from "./OperatorList";

function Stat({ metric, value, label, title }: { metric: string; value: string; label: string; title?: string }) {
  return (
    <div className="stat" data-metric={metric} title={title}>
      <span className="stat-value">{value}</span>
      <span className="stat-label">{label}</span>
    </div>
  );
}

function TensorRows({ role, tensors }: { role: "input" | "output"; tensors: TensorInfo[] }) {
  return tensors.map((t, i) => (
    <tr key={`${role}-${i}`} data-tensor={role}>
      <td>{role}</td>
      <td className="tensor-name">{t.name}</td>
      <td className="nowrap">{formatShape(t.shape)}</td>
      <td>{t.type}</td>
      <td className="num">{formatScale(t.scale)}</td>
      <td className="num">{t.zero_point ?? "—"}</td>
    </tr>
  ));
}

export function ModelDetails({ info }: { info: ModelInfo }) {
  const { compiler } = info;
  return (
    <div className="model-details">
      <div className="metrics">
        <Stat
          metric="parameters"
          value={formatCount(info.parameters)}
          label="trained parameters (weights and biases)"
          title={info.parameters.toLocaleString("en-US")}
        />
        <Stat metric="macs" value={formatCount(compiler.macs)} label="multiply-accumulates per inference" title={compiler.macs?.toLocaleString("en-US")} />
        <Stat
          metric="arena"
          value={compiler.arena_bytes == null ? "—" : formatBytes(compiler.arena_bytes)}
          label="tensor arena: the RAM its activations need"
        />
        <Stat metric="int8-size" value={formatBytes(info.tflite_bytes)} label="int8 .tflite" />
      </div>
      <h3>Inputs and outputs</h3>
      <div className="table-wrap">
        <table className="table compact" aria-label="Inputs and outputs">
          <thead>
            <tr>
              <th>Tensor</th>
              <th>Name</th>
              <th>Shape</th>
              <th>Type</th>
              <th>Scale</th>
              <th>Zero point</th>
            </tr>
          </thead>
          <tbody>
            <TensorRows role="input" tensors={info.inputs} />
            <TensorRows role="output" tensors={info.outputs} />
          </tbody>
        </table>
      </div>
      <OperatorList info={info} />
    </div>
  );
}
