/** What the flash page works with: the board, an image to flash, and saving bytes as a download. */
import type { Schemas } from "../../api/client";

export type Board = Schemas["BoardOut"];

export interface Image {
  name: string;
  bytes: Uint8Array;
  /** Where it came from, for the page: "build #3" or "your file". */
  source: string;
}

/** Offers `bytes` as a file download named `name`. */
export function saveBytes(bytes: Uint8Array, name: string) {
  const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type: "application/octet-stream" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
