/** The project's uploaded models, each with its status, and the one shown below marked. */
import type { UploadedModel } from "../../api/models";
import { jobActive, sourceFormatName } from "../../lib/models";
import { formatBytes, formatDate, ShowButton, StatusBadge } from "../ui";

/** What a worker is doing with a ready model, if anything. */
function activity(model: UploadedModel): string | null {
  if (jobActive(model.profile_status)) return "profiling…";
  if (jobActive(model.library_status)) return "building C…";
  return null;
}

export function ModelList({ models, shownId, onShow }: { models: UploadedModel[]; shownId: number | null; onShow: (id: number) => void }) {
  return (
    <div className="table-wrap">
      <table className="table compact" aria-label="Uploaded models">
        <thead>
          <tr>
            <th>Name</th>
            <th>Format</th>
            <th>Size</th>
            <th>Status</th>
            <th>Uploaded</th>
            <th aria-label="Show" />
          </tr>
        </thead>
        <tbody>
          {models.map((m) => (
            <tr key={m.id} data-model={m.id} aria-current={shownId === m.id || undefined}>
              <td className="model-name">{m.name}</td>
              <td className="nowrap">{sourceFormatName(m.source_format)}</td>
              <td className="nowrap">{formatBytes(m.original_bytes)}</td>
              <td className="nowrap">
                <StatusBadge status={m.status} /> {activity(m) && <span className="muted small">{activity(m)}</span>}
              </td>
              <td className="muted small nowrap">{formatDate(m.created_at)}</td>
              <td>
                <ShowButton shown={shownId === m.id} onShow={() => onShow(m.id)} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
