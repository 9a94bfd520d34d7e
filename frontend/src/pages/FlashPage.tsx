/**
 * Flash a real board: ESP32-family boards straight from the browser over Web Serial (esptool-js),
 * UF2 boards by downloading a .uf2 for their USB drive, other boards by downloading the image,
 * each with the board's own steps. Images come from the studio's firmware builds where it can
 * build them, else from the user's own toolchain (the studio says why and offers the libraries).
 */
import { useState } from "react";
import { Link, useOutletContext } from "react-router-dom";
import { useQuery } from "@tanstack/react-query";
import { api, unwrap, type Project } from "../api/client";
import { Card, ErrorNote, formatBytes, Loading } from "../components/ui";
import { StudioImages } from "../components/flash/StudioImages";
import { EspFlasher } from "../components/flash/EspFlasher";
import { ImageDownload, Uf2Download } from "../components/flash/Downloads";
import type { Image } from "../components/flash/image";

export function FlashPage() {
  const project = useOutletContext<Project>();
  const boards = useQuery({ queryKey: ["boards"], queryFn: () => unwrap(api.GET("/api/boards")), staleTime: Infinity });
  const physical = (boards.data ?? []).filter((b) => b.kind === "physical");
  const [boardId, setBoardId] = useState<string | null>(null);
  const board = physical.find((b) => b.id === boardId) ?? physical.find((b) => b.flash_method === "esptool") ?? physical[0] ?? null;
  const [image, setImage] = useState<Image | null>(null);
  const [fileError, setFileError] = useState<string | null>(null);
  if (boards.isPending) return <Loading what="boards" />;
  if (!board) return <ErrorNote error={boards.error ?? "no real boards in the catalog"} />;
  const suffixes = board.flashing?.image_suffixes ?? [".bin"];

  const choose = async (file: File | undefined) => {
    setFileError(null);
    setImage(null);
    if (!file) return;
    if (!suffixes.some((s) => file.name.toLowerCase().endsWith(s))) {
      setFileError(`"${file.name}" is not a ${suffixes.join(" or ")} file, which is what the ${board.name} is flashed from`);
      return;
    }
    setImage({ name: file.name, bytes: new Uint8Array(await file.arrayBuffer()), source: "your file" });
  };

  return (
    <>
      <h1>Flash a board</h1>
      <Card title="Board">
        <div className="inline-form">
          <label className="field">
            <span>Board</span>
            <select
              name="board"
              value={board.id}
              onChange={(e) => {
                setBoardId(e.target.value);
                setImage(null);
                setFileError(null);
              }}
            >
              {physical.map((b) => (
                <option key={b.id} value={b.id}>
                  {b.name}
                </option>
              ))}
            </select>
          </label>
          <span className="muted small">
            {board.mcu} · {formatBytes(board.flash_bytes)} flash · {formatBytes(board.ram_bytes)} RAM · flashed{" "}
            {board.flash_method === "esptool"
              ? "from this page over Web Serial"
              : board.flash_method === "uf2"
                ? "by copying a .uf2 file to its USB drive"
                : "with its own tools"}
          </span>
        </div>
        <p className="muted small">
          Virtual boards are flashed on the <Link to={`/projects/${project.id}/virtual-boards`}>Virtual boards</Link> page.
        </p>
      </Card>
      <Card title="Image">
        <StudioImages
          project={project}
          board={board}
          onImage={(i) => {
            setImage(i);
            setFileError(null);
          }}
        />
        <div className="inline-form">
          <label className="field">
            <span>Or an image file ({suffixes.join(", ")})</span>
            {/* Keyed by board: another board starts with no file chosen, as the page then holds none. */}
            <input key={board.id} type="file" name="image" accept={suffixes.join(",")} onChange={(e) => void choose(e.target.files?.[0])} />
          </label>
        </div>
        {fileError && (
          <p className="error-note" role="alert">
            {fileError}
          </p>
        )}
        {image && (
          <p className="muted small" data-testid="image-summary">
            {image.name} from {image.source}: {formatBytes(image.bytes.length)}
          </p>
        )}
      </Card>
      <Card title="How to flash it">
        <ol className="instructions" data-testid="flash-instructions">
          {board.flashing?.steps.map((s) => (
            <li key={s}>{s}</li>
          ))}
        </ol>
      </Card>
      {board.flash_method === "esptool" && <EspFlasher key={board.id} board={board} image={image} />}
      {board.flash_method === "uf2" && <Uf2Download key={board.id} board={board} image={image} />}
      {board.flash_method === "download" && <ImageDownload key={board.id} board={board} image={image} />}
    </>
  );
}
