/** Interpreting the per-file answers of the sample upload route. */

export interface UploadFileResult {
  filename: string;
  stored: boolean;
  status: number;
  error?: string | null;
  field?: string | null;
  line?: number | null;
  sample?: { id: number; name: string; label?: string | null } | null;
}

export type FileState =
  | { state: "queued" }
  | { state: "uploading"; fraction: number }
  | { state: "stored"; sampleId: number | null; name: string }
  | { state: "refused"; message: string };

/** One readable sentence for a refused file: the error, with its line and field when known. */
export function describeRefusal(result: UploadFileResult): string {
  const where: string[] = [];
  if (result.line != null) where.push(`line ${result.line}`);
  if (result.field) where.push(`field "${result.field}"`);
  const base = result.error || `refused (HTTP ${result.status})`;
  return where.length ? `${base} (${where.join(", ")})` : base;
}

/** Maps an upload answer (any HTTP status) to the state of each file that was sent. */
export function fileStatesFromAnswer(sent: string[], httpStatus: number, body: unknown): Map<string, FileState> {
  const states = new Map<string, FileState>();
  const files = (body as { files?: UploadFileResult[] } | null)?.files;
  if (Array.isArray(files)) {
    const pending = [...sent];
    for (const result of files) {
      const index = pending.indexOf(result.filename);
      const key = index >= 0 ? pending.splice(index, 1)[0] : result.filename;
      states.set(
        key,
        result.stored
          ? { state: "stored", sampleId: result.sample?.id ?? null, name: result.sample?.name ?? result.filename }
          : { state: "refused", message: describeRefusal(result) },
      );
    }
    for (const name of pending) states.set(name, { state: "refused", message: "no answer for this file" });
    return states;
  }
  // A whole-request error (413, 401, 422 ...): every file carries the server's message.
  const detail = (body as { detail?: { message?: string } | unknown[] } | null)?.detail;
  let message = `upload failed (HTTP ${httpStatus})`;
  if (detail && !Array.isArray(detail) && typeof detail === "object" && "message" in detail && detail.message) {
    message = String(detail.message);
  } else if (Array.isArray(detail) && detail.length) {
    const first = detail[0] as { msg?: string; loc?: unknown[] };
    message = `${first.loc ? String(first.loc[first.loc.length - 1]) + ": " : ""}${first.msg ?? "invalid"}`;
  }
  for (const name of sent) states.set(name, { state: "refused", message });
  return states;
}

/** Counts stored and refused files in a state map. */
export function tally(states: Iterable<FileState>): { stored: number; refused: number; pending: number } {
  let stored = 0;
  let refused = 0;
  let pending = 0;
  for (const s of states) {
    if (s.state === "stored") stored += 1;
    else if (s.state === "refused") refused += 1;
    else pending += 1;
  }
  return { stored, refused, pending };
}
