/** What a change to the dataset just did, with the button that takes it back; the offer fades after a while. */
import { useEffect, useState } from "react";

// Long enough to notice a mistake; the trash view and the history still have what was changed.
const UNDO_MS = 20_000;

/** An Undo offer that withdraws itself UNDO_MS after it was made. */
export function useUndoOffer<T>() {
  const [offer, setOffer] = useState<T | null>(null);
  useEffect(() => {
    if (offer === null) return;
    const timer = setTimeout(() => setOffer(null), UNDO_MS);
    return () => clearTimeout(timer);
  }, [offer]);
  return [offer, setOffer] as const;
}

export function UndoToast({ message, busy, onUndo, onDismiss }: { message: string; busy: boolean; onUndo: () => void; onDismiss: () => void }) {
  return (
    <div className="toast-dock">
      <div className="toast" role="status">
        <span>{message}</span>
        <button type="button" className="btn btn-small" disabled={busy} onClick={onUndo}>
          Undo
        </button>
        <button type="button" className="btn btn-small btn-ghost" aria-label="Dismiss" onClick={onDismiss}>
          ×
        </button>
      </div>
    </div>
  );
}
