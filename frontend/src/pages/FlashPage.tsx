/**
 * Flash a real board: ESP32-family boards straight from the browser over Web Serial (esptool-js),
 * UF2 boards by downloading a .uf2 for their USB drive, other boards by downloading the image,
 * each with the board's own steps. Images come from the studio's firmware builds where it can
 * build them, else from the user's own toolchain (the studio says why and offers the libraries).
 */
import { useEffect, useMemo, useState } from "react";
import { Link, useOutletContext } from "react-router-dom";
import { useQuery } from "@tanstack/react-query";
import { api, errorText, unwrap, type Project, type Schemas } from "../api/client";
import { effectiveStatus, useJobStatuses } from "../api/queries";
import { Card, ErrorNote, formatBytes, Loading, ProgressBar } from "../components/ui";
import { defaultAddress, FLASH_STEPS, FlashError, flashEsp, imageProblem, type ChipInfo, type FlashStep } from "../lib/flash/esp";
import { hex, readUf2, toUf2, type Uf2Summary } from "../lib/flash/uf2";
import { serialUnavailableReason, type SerialLike } from "../lib/serial/device";

type Board = Schemas["BoardOut"];

interface Image {
  name: string;
  bytes: Uint8Array;
  /** Where it came from, for the page: "build #3" or "your file". */
  source: string;
}

const BAUD_RATES = [115200, 460800, 921600];

/** Offers `bytes` as a file download named `name`. */
function saveBytes(bytes: Uint8Array, name: string) {
  const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type: "application/octet-stream" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

const address = (v: number) => `0x${v.toString(16)}`;

/** The studio's firmware builds for `board`, or why there are none and what to use instead. */
function StudioImages({ project, board, onImage }: { project: Project; board: Board; onImage: (image: Image) => void }) {
  const { statuses } = useJobStatuses(project.id);
  const deployments = useQuery({
    queryKey: ["project", project.id, "deployments"],
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/deployments", { params: { path: { project_id: project.id } } })),
  });
  const [error, setError] = useState<unknown>(null);
  if (!board.firmware_buildable) {
    return (
      <p className="muted" data-testid="no-studio-firmware">
        TinyStudio cannot build firmware for the {board.name} here: {board.firmware_unavailable_reason}. Build the{" "}
        <Link to={`/projects/${project.id}/deployment`}>C library or Arduino library</Link> of your model, compile it with the board's own tools, and flash that
        image below.
      </p>
    );
  }
  const builds = (deployments.data ?? []).filter((d) => d.target === "firmware" && d.board_id === board.id && effectiveStatus(d, statuses) === "succeeded");
  if (deployments.isPending) return <Loading what="firmware builds" />;
  if (!builds.length) {
    return (
      <p className="muted">
        No firmware build for this board yet: <Link to={`/projects/${project.id}/deployment`}>build one</Link>, or choose an image file.
      </p>
    );
  }
  const use = async (d: Schemas["DeploymentOut"]) => {
    setError(null);
    try {
      const artifactId = (d.report as { artifacts?: Record<string, number> }).artifacts?.["firmware.bin"];
      if (!artifactId) throw new Error(`build #${d.id} has no firmware.bin`);
      const answer = await fetch(`/api/projects/${project.id}/artifacts/${artifactId}/download`, { credentials: "same-origin" });
      if (!answer.ok) throw new Error(`cannot download build #${d.id}'s image (${answer.status})`);
      onImage({ name: `firmware-${d.id}.bin`, bytes: new Uint8Array(await answer.arrayBuffer()), source: `build #${d.id}` });
    } catch (err) {
      setError(err);
    }
  };
  return (
    <>
      <ul className="list">
        {builds.map((d) => (
          <li key={d.id} className="list-row">
            <span>
              Firmware build #{d.id} · run #{d.training_run_id}
            </span>
            <button className="btn btn-small" onClick={() => void use(d)}>
              Use this build
            </button>
          </li>
        ))}
      </ul>
      <ErrorNote error={error} />
    </>
  );
}

interface EspState {
  step: FlashStep | null;
  done: FlashStep[];
  written: number;
  total: number;
  chip: ChipInfo | null;
  result: { md5: string; bytes: number; seconds: number } | null;
  error: FlashError | null;
  log: string[];
}

const IDLE: EspState = { step: null, done: [], written: 0, total: 0, chip: null, result: null, error: null, log: [] };

/** esptool-js over Web Serial: the steps, a progress bar for the write, the chip, the log. */
function EspFlasher({ board, image }: { board: Board; image: Image | null }) {
  const appOffset = board.flashing?.app_offset ?? 0x10000;
  const [addressText, setAddressText] = useState(address(appOffset));
  const [eraseAll, setEraseAll] = useState(false);
  const [baudRate, setBaudRate] = useState(921600);
  const [state, setState] = useState<EspState>(IDLE);
  const running = state.step !== null && !state.result && !state.error;
  useEffect(() => {
    // A new image gets the address its kind usually goes to.
    if (image) setAddressText(address(defaultAddress(image.name, appOffset)));
    setState(IDLE);
  }, [image, appOffset]);

  const target = Number(addressText.trim());
  const serialProblem = serialUnavailableReason(window);
  const problem = !image
    ? "Choose an image first."
    : !/^(0x[0-9a-f]+|\d+)$/i.test(addressText.trim()) || !Number.isFinite(target)
      ? `"${addressText}" is not an address (write it like 0x10000)`
      : imageProblem(image.bytes, target, board.flash_bytes);

  const flash = async () => {
    if (!image || problem) return;
    setState({ ...IDLE, step: "connect" });
    let port;
    try {
      port = await (navigator as unknown as { serial: SerialLike }).serial.requestPort({});
    } catch (err) {
      // The person closed the port chooser: nothing started.
      setState({ ...IDLE, log: [`No port chosen: ${errorText(err)}`] });
      return;
    }
    const log = (line: string) => setState((s) => ({ ...s, log: [...s.log.slice(-400), line] }));
    try {
      const result = await flashEsp(port, {
        image: image.bytes,
        address: target,
        eraseAll,
        baudRate,
        onStep: (step) => setState((s) => ({ ...s, step, done: s.step && s.step !== step ? [...s.done, s.step] : s.done })),
        onChip: (chip) => setState((s) => ({ ...s, chip })),
        onProgress: (written, total) => setState((s) => ({ ...s, written, total })),
        onLog: log,
      });
      setState((s) => ({ ...s, done: [...s.done, "reset"], result }));
    } catch (err) {
      const error = err instanceof FlashError ? err : new FlashError(state.step ?? "connect", errorText(err));
      setState((s) => ({ ...s, error }));
    }
  };

  const steps = FLASH_STEPS.filter((s) => s.step !== "erase" || eraseAll);
  const mark = (step: FlashStep) => {
    if (state.done.includes(step)) return { icon: "✓", status: "done" };
    if (state.error?.step === step) return { icon: "✗", status: "failed" };
    if (state.step === step && running) return { icon: "…", status: "running" };
    return { icon: "·", status: "waiting" };
  };
  return (
    <Card title="Flash over Web Serial (esptool)">
      <div className="inline-form">
        <label className="field">
          <span>Flash address</span>
          <input name="address" value={addressText} onChange={(e) => setAddressText(e.target.value)} disabled={running} style={{ width: 110 }} />
        </label>
        <label className="field">
          <span>Baud rate while writing</span>
          <select name="baud" value={baudRate} onChange={(e) => setBaudRate(Number(e.target.value))} disabled={running}>
            {BAUD_RATES.map((b) => (
              <option key={b} value={b}>
                {b}
              </option>
            ))}
          </select>
        </label>
        <label className="field checkbox-field">
          <input type="checkbox" checked={eraseAll} onChange={(e) => setEraseAll(e.target.checked)} disabled={running} /> Erase the whole flash first
        </label>
      </div>
      {image && problem && (
        <p className="error-note" role="alert">
          {problem}
        </p>
      )}
      {serialProblem && <p className="error-note">{serialProblem}</p>}
      <div className="inline-form">
        <button className="btn btn-primary" disabled={running || !!problem || !!serialProblem} onClick={() => void flash()}>
          {running ? "Flashing…" : state.error ? "Retry" : "Connect and flash"}
        </button>
        <span className="muted small">The browser asks which serial port; choose the board's UART (CP2102 or CH340) port.</span>
      </div>
      {state.step && (
        <ol className="flash-steps" aria-label="Flash steps">
          {steps.map((s) => {
            const { icon, status } = mark(s.step);
            return (
              <li key={s.step} data-status={status} className={`flash-step flash-step-${status}`}>
                <span aria-hidden="true" className="flash-step-icon">
                  {icon}
                </span>{" "}
                {s.title}
              </li>
            );
          })}
        </ol>
      )}
      {state.total > 0 && (
        <div data-testid="flash-progress">
          <ProgressBar value={state.written / state.total} label="Writing the image" />
          <p className="muted small">
            {Math.floor((100 * state.written) / state.total)} % · {formatBytes(state.written)} of {formatBytes(state.total)} sent (compressed from{" "}
            {formatBytes(image?.bytes.length ?? 0)})
          </p>
        </div>
      )}
      {state.chip && (
        <div className="metrics" data-testid="chip-info">
          <div className="stat">
            <span className="stat-value">{state.chip.name}</span>
            <span className="stat-label">{state.chip.description}</span>
          </div>
          <div className="stat">
            <span className="stat-value small">{state.chip.mac}</span>
            <span className="stat-label">MAC</span>
          </div>
          <div className="stat">
            <span className="stat-value">{state.chip.crystalMHz} MHz</span>
            <span className="stat-label">crystal</span>
          </div>
          {state.chip.flashId != null && (
            <div className="stat">
              <span className="stat-value">0x{state.chip.flashId.toString(16)}</span>
              <span className="stat-label">flash ID</span>
            </div>
          )}
          <div className="stat">
            <span className="stat-value small">{state.chip.features.join(", ")}</span>
            <span className="stat-label">features</span>
          </div>
        </div>
      )}
      {state.result && (
        <p className="success-note" role="status" data-testid="flash-done">
          Flashed {formatBytes(state.result.bytes)} at {addressText} in {state.result.seconds.toFixed(1)} s; the flash's MD5 matches the image (
          {state.result.md5}). The board restarted into the new image.
        </p>
      )}
      {state.error && (
        <div role="alert" className="error-note" data-testid="flash-error">
          <strong>{state.error.message}</strong>
          <br />
          Nothing else is needed before trying again: press Retry (the board is reset into its bootloader each time).
        </div>
      )}
      {state.log.length > 0 && (
        <details open={!!state.error}>
          <summary>esptool log ({state.log.length} lines)</summary>
          <pre className="log" aria-label="esptool log">
            {state.log.join("\n")}
          </pre>
        </details>
      )}
    </Card>
  );
}

/** A .uf2 for the board's USB drive: a chosen .uf2 is checked, a .bin is converted. */
function Uf2Download({ board, image }: { board: Board; image: Image | null }) {
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
function ImageDownload({ board, image }: { board: Board; image: Image | null }) {
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
