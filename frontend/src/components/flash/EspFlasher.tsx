/** Flashing an ESP32-family board from the browser over Web Serial (esptool-js), step by step, with Retry. */
import { useEffect, useState } from "react";
import { errorText } from "../../api/client";
import { Card, formatBytes, ProgressBar } from "../ui";
import { defaultAddress, FLASH_STEPS, FlashError, flashEsp, imageProblem, type ChipInfo, type FlashStep } from "../../lib/flash/esp";
import { serialUnavailableReason, type SerialLike } from "../../lib/serial/device";
import type { Board, Image } from "./image";

const BAUD_RATES = [115200, 460800, 921600];

const address = (v: number) => `0x${v.toString(16)}`;

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
export function EspFlasher({ board, image }: { board: Board; image: Image | null }) {
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
