/** Boards flashed with their own tools: a .uf2 made from the image for a UF2 drive, or the image itself. */
import { useMemo } from "react";
import { errorText } from "../../api/client";
import { Card, formatBytes } from "../ui";
import { hex, readUf2, toUf2, type Uf2Summary } from "../../lib/flash/uf2";
import { saveBytes, type Board, type Image } from "./image";

/** A .uf2 for the board's USB drive: a chosen .uf2 is checked, a .bin is converted. */
export function Uf2Download({ board, image }: { board: Board; image: Image | null }) {
  const family = board.flashing?.uf2_family_id ?? 0;
  const origin = board.flashing?.flash_origin ?? 0;
  const prepared = useMemo((): { file: Uint8Array; summary: Uf2Summary; name: string } | { error: string } | null => {
    if (!image) return null;
    try {
      const isUf2 = image.name.toLowerCase().endsWith(".uf2");
      if (!isUf2 && image.bytes.length > board.flash_bytes) {
        return { error: `the image has ${formatBytes(image.bytes.length)}, more than the board's ${formatBytes(board.flash_bytes)} flash` };
      }
      const file = isUf2 ? image.bytes : toUf2(image.bytes, origin, family);
      const summary = readUf2(file);
      if (summary.familyId !== null && summary.familyId !== family) {
        return { error: `this UF2 file is for family 0x${hex(summary.familyId)}; the ${board.name} expects 0x${hex(family)}` };
      }
      if (summary.start < origin || summary.end > origin + board.flash_bytes) {
        return {
          error: `this UF2 file writes 0x${hex(summary.start)}–0x${hex(summary.end)}, outside the board's flash (0x${hex(origin)}–0x${hex(origin + board.flash_bytes)})`,
        };
      }
      return { file, summary, name: image.name.replace(/\.[^.]*$/, "") + ".uf2" };
    } catch (err) {
      return { error: errorText(err) };
    }
  }, [image, board, family, origin]);
  return (
    <Card title="Download for the board's USB drive (UF2)">
      {!prepared && <p className="muted">Choose an image first.</p>}
      {prepared && "error" in prepared && (
        <p className="error-note" role="alert">
          {prepared.error}
        </p>
      )}
      {prepared && "file" in prepared && (
        <>
          <p className="muted small" data-testid="uf2-summary">
            {prepared.summary.blocks} blocks, {formatBytes(prepared.summary.bytes)} for 0x{hex(prepared.summary.start)}–0x{hex(prepared.summary.end)}, family 0x
            {hex(prepared.summary.familyId ?? family)}
            {image && !image.name.toLowerCase().endsWith(".uf2") ? ` (converted from ${image.name})` : ""}
          </p>
          <button className="btn btn-primary" onClick={() => saveBytes(prepared.file, prepared.name)}>
            Download {prepared.name}
          </button>
        </>
      )}
    </Card>
  );
}

/** Boards flashed with their own tools: the image as a download. */
export function ImageDownload({ board, image }: { board: Board; image: Image | null }) {
  const tooBig = image && image.bytes.length > board.flash_bytes;
  return (
    <Card title="Download the image">
      {!image && <p className="muted">Choose an image first.</p>}
      {tooBig && (
        <p className="error-note" role="alert">
          The image has {formatBytes(image.bytes.length)}, more than the board's {formatBytes(board.flash_bytes)} flash.
        </p>
      )}
      {image && !tooBig && (
        <button className="btn btn-primary" onClick={() => saveBytes(image.bytes, image.name)}>
          Download {image.name}
        </button>
      )}
    </Card>
  );
}
