/** The project's devices: state, last seen, model, drift verdict, and what an editor can do with each. */
import type { Drift, FleetDevice } from "../../api/fleet";
import { lastSeenText } from "../../lib/fleet";

interface Props {
  devices: FleetDevice[];
  drift: Map<number, Drift>;
  editor: boolean;
  busy: boolean;
  onSamples: (device: FleetDevice) => void;
  onEdit: (device: FleetDevice) => void;
  onDelete: (device: FleetDevice) => void;
}

export function DeviceTable({ devices, drift, editor, busy, onSamples, onEdit, onDelete }: Props) {
  return (
    <div className="table-wrap">
      <table className="table compact" aria-label="Devices">
        <thead>
          <tr>
            <th>Name</th>
            <th>State</th>
            <th>Last seen</th>
            <th>Board</th>
            <th>Firmware</th>
            <th>Model</th>
            <th>Reports</th>
            <th>Drift</th>
            {editor && <th aria-label="Actions" />}
          </tr>
        </thead>
        <tbody>
          {devices.map((d) => {
            const report = drift.get(d.id);
            return (
              <tr key={d.id} data-device={d.name}>
                <td>
                  {d.name}
                  {d.tags.map((t) => (
                    <span key={t} className="badge">
                      {t}
                    </span>
                  ))}
                </td>
                <td>
                  <span className={`badge device-${d.state}`}>{d.state}</span>
                </td>
                <td className="nowrap" title={d.last_seen_at ?? undefined}>
                  {lastSeenText(d.last_seen_at)}
                </td>
                <td className="nowrap">{d.board_id}</td>
                <td className="nowrap">{d.firmware_version}</td>
                <td className="nowrap">{d.model_version ?? "—"}</td>
                <td>{d.telemetry_count}</td>
                <td className="nowrap">
                  {report ? <span className={`badge drift-${report.status}`}>{report.alert ? "drift" : report.status.replace("_", " ")}</span> : "…"}
                </td>
                {editor && (
                  <td className="nowrap">
                    <button
                      type="button"
                      className="btn btn-small"
                      disabled={busy || d.raw_windows === 0}
                      onClick={() => onSamples(d)}
                      title="Each raw window the device sampled becomes an unlabelled sample"
                    >
                      Make {d.raw_windows} sample{d.raw_windows === 1 ? "" : "s"}
                    </button>{" "}
                    <button type="button" className="btn btn-small" disabled={busy} onClick={() => onEdit(d)}>
                      Edit
                    </button>{" "}
                    <button type="button" className="btn btn-small btn-danger" disabled={busy} onClick={() => onDelete(d)}>
                      Delete
                    </button>
                  </td>
                )}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
