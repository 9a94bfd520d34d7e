/** Drag-and-drop upload of many files, with progress and the server's verdict for each file. */
import { useRef, useState, type DragEvent } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { uploadFiles } from "../api/upload";
import { tally, type FileState } from "../lib/uploadResults";
import { ProgressBar } from "./ui";
import { refresh } from "../api/queries";

type Category = "training" | "testing" | "anomaly" | "split";
// Several files in flight at once keep the link busy without flooding a small server.
const PARALLEL = 3;

export function Uploader({ projectId }: { projectId: number }) {
  const queryClient = useQueryClient();
  const input = useRef<HTMLInputElement>(null);
  const [over, setOver] = useState(false);
  const [label, setLabel] = useState("");
  const [category, setCategory] = useState<Category>("split");
  const [states, setStates] = useState<Map<string, FileState>>(new Map());
  const [busy, setBusy] = useState(false);

  async function start(files: File[]) {
    if (!files.length) return;
    setBusy(true);
    const initial = new Map<string, FileState>(files.map((f) => [f.name, { state: "queued" }]));
    setStates(initial);
    const update = (name: string, state: FileState) =>
      setStates((prev) => {
        const next = new Map(prev);
        next.set(name, state);
        return next;
      });
    let index = 0;
    async function worker() {
      while (index < files.length) {
        const file = files[index++];
        update(file.name, { state: "uploading", fraction: 0 });
        const result = await uploadFiles([file], {
          projectId,
          label: label.trim() || undefined,
          category,
          onProgress: (fraction) => update(file.name, { state: "uploading", fraction }),
        });
        for (const [name, state] of result) update(name, state);
      }
    }
    await Promise.all(Array.from({ length: Math.min(PARALLEL, files.length) }, worker));
    setBusy(false);
    void refresh(queryClient, ["project", projectId]);
  }

  function onDrop(e: DragEvent) {
    e.preventDefault();
    setOver(false);
    void start(Array.from(e.dataTransfer.files));
  }
  const counts = tally(states.values());
  return (
    <div className="uploader">
      <div className="upload-options">
        <label className="field">
          <span>Label</span>
          <input name="upload-label" value={label} placeholder="from file name (label.001.csv)" onChange={(e) => setLabel(e.target.value)} />
        </label>
        <label className="field">
          <span>Category</span>
          <select name="upload-category" value={category} onChange={(e) => setCategory(e.target.value as Category)}>
            <option value="split">Split automatically (80/20)</option>
            <option value="training">Training</option>
            <option value="testing">Testing</option>
            <option value="anomaly">Anomaly</option>
          </select>
        </label>
      </div>
      <div
        role="region"
        aria-label="Drop files to upload"
        className={`dropzone${over ? " dropzone-over" : ""}`}
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={onDrop}
      >
        <p>
          <strong>Drop files here</strong> — CSV, Edge Impulse JSON or CBOR, WAV.
        </p>
        <button type="button" className="btn" disabled={busy} onClick={() => input.current?.click()}>
          Choose files…
        </button>
        <input
          ref={input}
          type="file"
          multiple
          hidden
          data-testid="upload-input"
          accept=".csv,.json,.cbor,.wav"
          onChange={(e) => {
            void start(Array.from(e.target.files ?? []));
            e.target.value = "";
          }}
        />
      </div>
      {states.size > 0 && (
        <div className="upload-results" aria-live="polite">
          <p className="small">
            {counts.stored} stored · {counts.refused} refused{counts.pending ? ` · ${counts.pending} in progress` : ""}
          </p>
          <ul className="list compact">
            {/* Refused files first: they are the ones that need the user's attention. */}
            {[...states]
              .sort((a, b) => Number(b[1].state === "refused") - Number(a[1].state === "refused"))
              .map(([name, s]) => (
                <li key={name} className={`list-row upload-${s.state}`} data-filename={name}>
                  <span className="upload-name">{name}</span>
                  {s.state === "queued" && <span className="muted small">waiting</span>}
                  {s.state === "uploading" && <ProgressBar value={s.fraction} label={`Uploading ${name}`} />}
                  {s.state === "stored" && <span className="ok-text small">stored</span>}
                  {s.state === "refused" && <span className="error-text small">{s.message}</span>}
                </li>
              ))}
          </ul>
        </div>
      )}
    </div>
  );
}
