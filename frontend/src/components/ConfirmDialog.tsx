/**
 * Asking before a change that is hard to take back: an in-page alert dialog (focus kept inside,
 * Escape or Cancel answers no) that callers await as `await confirm({...})`.
 */
import { createContext, useCallback, useContext, useEffect, useId, useRef, useState, type ReactNode } from "react";
import { createPortal } from "react-dom";

export interface ConfirmRequest {
  /** The question, with the count of what changes: "Move 12 samples to testing?" */
  title: string;
  /** What happens, and whether it can be undone. */
  body?: ReactNode;
  /** The confirming button says what it does ("Move 12 samples"), never just "OK". */
  confirmLabel: string;
  /** Paints the confirming button as destructive. */
  danger?: boolean;
}

type Confirm = (request: ConfirmRequest) => Promise<boolean>;

const ConfirmContext = createContext<Confirm | null>(null);

/** The function that opens the dialog; resolves true when the user confirms. */
export function useConfirm(): Confirm {
  const confirm = useContext(ConfirmContext);
  if (!confirm) throw new Error("useConfirm needs a ConfirmProvider above it");
  return confirm;
}

const FOCUSABLE = "button:not([disabled]), [href], input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex='-1'])";

export function ConfirmDialog({ request, onAnswer }: { request: ConfirmRequest; onAnswer: (confirmed: boolean) => void }) {
  const titleId = useId();
  const bodyId = useId();
  const box = useRef<HTMLDivElement>(null);
  const cancel = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    // Cancel takes the focus first: Enter on a dialog that just opened must not destroy anything.
    const before = document.activeElement as HTMLElement | null;
    cancel.current?.focus();
    return () => before?.focus();
  }, []);

  const onKeyDown = (event: React.KeyboardEvent) => {
    if (event.key === "Escape") {
      event.preventDefault();
      onAnswer(false);
      return;
    }
    if (event.key !== "Tab" || !box.current) return;
    const focusable = [...box.current.querySelectorAll<HTMLElement>(FOCUSABLE)];
    const first = focusable[0];
    const last = focusable[focusable.length - 1];
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  };

  return (
    <div className="dialog-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onAnswer(false)}>
      <div
        ref={box}
        className="dialog"
        role="alertdialog"
        aria-modal="true"
        aria-labelledby={titleId}
        aria-describedby={request.body ? bodyId : undefined}
        onKeyDown={onKeyDown}
      >
        <h2 id={titleId}>{request.title}</h2>
        {request.body && (
          <div id={bodyId} className="dialog-body">
            {request.body}
          </div>
        )}
        <div className="dialog-actions">
          <button ref={cancel} type="button" className="btn" onClick={() => onAnswer(false)}>
            Cancel
          </button>
          <button type="button" className={`btn ${request.danger ? "btn-danger-solid" : "btn-primary"}`} onClick={() => onAnswer(true)}>
            {request.confirmLabel}
          </button>
        </div>
      </div>
    </div>
  );
}

/** Holds the one open question of the app; the page behind it is inert while it is open. */
export function ConfirmProvider({ children }: { children: ReactNode }) {
  const [open, setOpen] = useState<{ request: ConfirmRequest; resolve: (confirmed: boolean) => void } | null>(null);
  const confirm = useCallback<Confirm>(
    (request) =>
      new Promise<boolean>((resolve) => {
        setOpen((previous) => {
          // A second question replaces the first, which counts as cancelled.
          previous?.resolve(false);
          return { request, resolve };
        });
      }),
    [],
  );
  const answer = (confirmed: boolean) => {
    open?.resolve(confirmed);
    setOpen(null);
  };
  return (
    <ConfirmContext.Provider value={confirm}>
      <div className="app-root" inert={open !== null}>
        {children}
      </div>
      {open && createPortal(<ConfirmDialog request={open.request} onAnswer={answer} />, document.body)}
    </ConfirmContext.Provider>
  );
}
