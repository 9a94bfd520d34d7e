/** What a change to the dataset just did, with the button that takes it back. */
import type { UndoOffer } from "./useDatasetChanges";

export function UndoToast({ offer, busy, onUndo, onDismiss }: { offer: UndoOffer; busy: boolean; onUndo: () => void; onDismiss: () => void }) {
  return (
    <div className="toast" role="status">
      <span>{offer.message}</span>
      <button type="button" className="btn btn-small" disabled={busy} onClick={onUndo}>
        Undo
      </button>
      <button type="button" className="btn btn-small btn-ghost" aria-label="Dismiss" onClick={onDismiss}>
        ×
      </button>
    </div>
  );
}
