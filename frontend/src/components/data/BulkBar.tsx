/** The toolbar over the sample list when samples are chosen: relabel, move, enable, disable, trash or restore them. */
import { useState } from "react";
import type { BulkRequest, Category } from "./useDatasetChanges";

export function BulkBar({
  ids,
  trashed,
  disabled,
  onAction,
}: {
  ids: number[];
  /** The list shows the trash: its samples are restored, not trashed. */
  trashed: boolean;
  disabled: boolean;
  onAction: (request: BulkRequest) => void;
}) {
  const [label, setLabel] = useState("");
  const [category, setCategory] = useState<Category>("training");
  return (
    <div className="bulkbar" role="toolbar" aria-label="Bulk actions">
      <strong>{ids.length} selected</strong>
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (label.trim()) onAction({ action: "relabel", sample_ids: ids, label: label.trim() });
        }}
      >
        <input aria-label="New label" placeholder="new label" value={label} onChange={(e) => setLabel(e.target.value)} />
        <button type="submit" className="btn btn-small" disabled={disabled || !label.trim()}>
          Relabel
        </button>
      </form>
      <span className="inline-form">
        <select aria-label="Move to category" value={category} onChange={(e) => setCategory(e.target.value as Category)}>
          <option value="training">training</option>
          <option value="testing">testing</option>
          <option value="anomaly">anomaly</option>
        </select>
        <button type="button" className="btn btn-small" disabled={disabled} onClick={() => onAction({ action: "move", sample_ids: ids, category })}>
          Move
        </button>
      </span>
      <button type="button" className="btn btn-small" disabled={disabled} onClick={() => onAction({ action: "enable", sample_ids: ids })}>
        Enable
      </button>
      <button type="button" className="btn btn-small" disabled={disabled} onClick={() => onAction({ action: "disable", sample_ids: ids })}>
        Disable
      </button>
      {trashed ? (
        <button type="button" className="btn btn-small" disabled={disabled} onClick={() => onAction({ action: "restore", sample_ids: ids })}>
          Restore
        </button>
      ) : (
        <button type="button" className="btn btn-small btn-danger" disabled={disabled} onClick={() => onAction({ action: "delete", sample_ids: ids })}>
          Delete
        </button>
      )}
    </div>
  );
}
