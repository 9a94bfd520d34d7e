/** Multipart sample upload through XMLHttpRequest so the page can show upload progress per file. */
import { currentCsrfToken } from "./client";
import { fileStatesFromAnswer, type FileState } from "../lib/uploadResults";

export interface UploadOptions {
  projectId: number;
  label?: string;
  category: "training" | "testing" | "anomaly" | "split";
  onProgress?: (fraction: number) => void;
}

/** Uploads one batch of files; resolves with each file's resulting state (never rejects). */
export function uploadFiles(files: File[], options: UploadOptions): Promise<Map<string, FileState>> {
  const form = new FormData();
  for (const file of files) form.append("files", file, file.name);
  if (options.label) form.append("label", options.label);
  form.append("category", options.category);
  const names = files.map((f) => f.name);
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/api/projects/${options.projectId}/samples/upload`);
    xhr.withCredentials = true;
    const token = currentCsrfToken();
    if (token) xhr.setRequestHeader("x-csrf-token", token);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) options.onProgress?.(event.loaded / event.total);
    };
    xhr.onload = () => {
      let body: unknown;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = null;
      }
      resolve(fileStatesFromAnswer(names, xhr.status, body));
    };
    xhr.onerror = () => {
      resolve(new Map(names.map((n) => [n, { state: "refused", message: "network error: the studio did not answer" }])));
    };
    xhr.send(form);
  });
}
