/** Devices: connect a board over Web Serial, see its data forwarder stream live and record samples. */
import { useCallback, useEffect, useRef, useState } from "react";
import { Link, useOutletContext } from "react-router-dom";
import { useQueryClient } from "@tanstack/react-query";
import type { Project } from "../api/client";
import { uploadFiles } from "../api/upload";
import { CheckedInput } from "../components/CheckedInput";
import { LineChart } from "../components/LineChart";
import { Card, ProgressBar } from "../components/ui";
import { BAUD_RATES, collectLines, SerialDevice, serialUnavailableReason, type SerialLike } from "../lib/serial/device";
import { buildAcquisition, countValues, defaultAxisNames, detectStream, ForwarderAbort, parseLine, type StreamInfo } from "../lib/serial/forwarder";
import { atLeast, refresh } from "../api/queries";

// Seconds of signal kept for the live plot.
const LIVE_SECONDS = 5;

type Category = "training" | "testing" | "anomaly" | "split";
type Recording = { target: number; values: number[][] };

export function DevicesPage() {
  const project = useOutletContext<Project>();
  const editor = atLeast(project.role, "editor");
  const queryClient = useQueryClient();
  const unavailable = serialUnavailableReason(window);
  const [baud, setBaud] = useState(115200);
  const [device, setDevice] = useState<SerialDevice | null>(null);
  const [phase, setPhase] = useState<"idle" | "connecting" | "detecting" | "streaming" | "recording" | "uploading">("idle");
  const [info, setInfo] = useState<StreamInfo | null>(null);
  const [axisNames, setAxisNames] = useState<string[]>([]);
  // The detected rate, which the user may correct when they know the board's real one.
  const [frequencyText, setFrequencyText] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<{ text: string; sampleId?: number } | null>(null);
  const [label, setLabel] = useState("");
  const [lengthMs, setLengthMs] = useState(2000);
  const [category, setCategory] = useState<Category>("training");
  const [recordProgress, setRecordProgress] = useState(0);
  const [, setTick] = useState(0);
  const live = useRef<number[][]>([]);
  const recording = useRef<Recording | null>(null);
  const finishRecording = useRef<((values: number[][] | null, reason?: string) => void) | null>(null);

  const reset = useCallback((message: string | null) => {
    setDevice(null);
    setInfo(null);
    setPhase("idle");
    live.current = [];
    if (finishRecording.current) {
      // A recording in progress reports the reason itself, saying that nothing was stored.
      recording.current = null;
      finishRecording.current(null, message ?? "the device was disconnected");
    } else if (message) {
      setError(message.charAt(0).toUpperCase() + message.slice(1));
    }
  }, []);

  useEffect(() => () => void device?.disconnect(), [device]);

  // Redraw the live plot at a steady rate instead of on every line.
  useEffect(() => {
    if (!info) return;
    const timer = setInterval(() => setTick((n) => n + 1), 100);
    return () => clearInterval(timer);
  }, [info]);

  async function connect() {
    setError(null);
    setNotice(null);
    const serial = (navigator as unknown as { serial?: SerialLike }).serial;
    if (!serial) return;
    setPhase("connecting");
    let dev: SerialDevice;
    try {
      dev = await SerialDevice.connect(serial, baud);
    } catch (err) {
      setPhase("idle");
      const name = (err as Error).name;
      setError(name === "NotFoundError" ? "No port was chosen." : `Cannot open the port: ${(err as Error).message}`);
      return;
    }
    dev.onEnd = (reason) => reset(reason);
    setDevice(dev);
    setPhase("detecting");
    let detected: StreamInfo;
    try {
      detected = detectStream(await collectLines(dev, 1.0), 1.0);
    } catch (err) {
      await dev.disconnect();
      reset(err instanceof ForwarderAbort ? `The board reported an error: ${err.message}` : `Cannot read the stream: ${(err as Error).message}`);
      return;
    }
    setInfo(detected);
    setFrequencyText(String(Number(detected.frequencyHz.toFixed(3))));
    setAxisNames(defaultAxisNames(detected.axes));
    const maxLive = Math.ceil(detected.frequencyHz * LIVE_SECONDS);
    dev.subscribe((line) => {
      let values: number[];
      try {
        if (countValues(line) !== detected.axes) return;
        values = parseLine(line);
      } catch (err) {
        if (err instanceof ForwarderAbort) {
          void dev.disconnect();
          reset(`The board reported an error: ${err.message}`);
        }
        return;
      }
      live.current.push(values);
      if (live.current.length > maxLive) live.current.splice(0, live.current.length - maxLive);
      const rec = recording.current;
      if (rec) {
        rec.values.push(values);
        if (rec.values.length >= rec.target) {
          recording.current = null;
          finishRecording.current?.(rec.values);
        }
      }
    });
    setPhase("streaming");
  }

  const frequencyHz = Number(frequencyText) > 0 ? Number(frequencyText) : (info?.frequencyHz ?? 1);
  // The same limits the inputs carry, said in words next to them.
  const lengthProblem = Number.isFinite(lengthMs) && lengthMs >= 100 && lengthMs <= 600_000 ? null : "Enter a length from 100 to 600000 ms.";
  const frequencyProblem = Number(frequencyText) > 0 ? null : "Enter a rate above 0 Hz.";

  async function record() {
    if (!info || !device) return;
    setError(null);
    setNotice(null);
    const target = Math.max(1, Math.round((lengthMs / 1000) * frequencyHz));
    setPhase("recording");
    setRecordProgress(0);
    const progressTimer = setInterval(() => setRecordProgress((recording.current?.values.length ?? 0) / target), 100);
    const values = await new Promise<number[][] | null>((resolve) => {
      // A board that stops sending must not leave the page waiting forever.
      const timeout = setTimeout(
        () => {
          recording.current = null;
          finishRecording.current?.(null, "the board stopped sending data");
        },
        lengthMs * 2 + 3000,
      );
      finishRecording.current = (vals, reason) => {
        clearTimeout(timeout);
        finishRecording.current = null;
        if (!vals) setError(`Recording stopped: ${(reason ?? "unknown reason").replace(/\.$/, "")}. Nothing was stored.`);
        resolve(vals);
      };
      recording.current = { target, values: [] };
    });
    clearInterval(progressTimer);
    if (!values) {
      setPhase(device.connected ? "streaming" : "idle");
      return;
    }
    setPhase("uploading");
    const doc = buildAcquisition({ deviceName: "Web Serial device", frequencyHz, axisNames, values });
    const cleanLabel = label.trim();
    const filename = `${cleanLabel || "unlabelled"}.${new Date().toISOString().replace(/[:.]/g, "-")}.json`;
    const file = new File([JSON.stringify(doc)], filename, { type: "application/json" });
    const result = await uploadFiles([file], { projectId: project.id, label: cleanLabel || undefined, category });
    const state = result.get(filename);
    if (state?.state === "stored") {
      setNotice({ text: `Recorded ${values.length} readings and stored "${state.name}".`, sampleId: state.sampleId ?? undefined });
      void refresh(queryClient, ["project", project.id]);
    } else {
      setError(`The studio refused the recording: ${state?.state === "refused" ? state.message : "no answer"}`);
    }
    setPhase(device.connected ? "streaming" : "idle");
  }

  if (unavailable) {
    return (
      <>
        <h1>Devices</h1>
        <Card title="Web Serial is not available">
          <p className="error-note" role="alert">
            {unavailable}
          </p>
          <p>
            You can still upload files on the <Link to={`/projects/${project.id}/data`}>Data acquisition</Link> page, or use the command-line data forwarder
            with an API key from <Link to={`/projects/${project.id}/settings`}>Settings</Link>.
          </p>
        </Card>
      </>
    );
  }

  const interval = 1000 / frequencyHz;
  const rows = live.current;
  // Time relative to the newest reading, so the plot scrolls from right to left.
  const t = rows.map((_, i) => (i - rows.length + 1) * interval);
  const busy = phase === "recording" || phase === "uploading";
  return (
    <>
      <h1>Devices</h1>
      <Card title="Connect a board">
        <p className="muted">
          Boards that print sensor readings as lines of numbers (the data forwarder protocol: values separated by commas, tabs or spaces) can send data straight
          from the browser{editor ? "." : "; editors record it into the dataset."}
        </p>
        {!device ? (
          <div className="inline-form">
            <label className="field">
              <span>Baud rate</span>
              <select name="baud" value={baud} onChange={(e) => setBaud(Number(e.target.value))}>
                {BAUD_RATES.map((b) => (
                  <option key={b} value={b}>
                    {b}
                  </option>
                ))}
              </select>
            </label>
            <button className="btn btn-primary" onClick={connect} disabled={phase === "connecting"}>
              {phase === "connecting" ? "Choose a port…" : "Connect a board"}
            </button>
          </div>
        ) : (
          <div className="inline-form">
            <span className="badge badge-succeeded">connected at {device.baudRate} baud</span>
            {phase === "detecting" && <span role="status">Listening for one second to detect the axes and rate…</span>}
            <button className="btn" disabled={busy} onClick={() => void device.disconnect().then(() => reset(null))}>
              Disconnect
            </button>
          </div>
        )}
        {error && (
          <p className="error-note" role="alert">
            {error}
          </p>
        )}
        {notice && (
          <p className="ok-note" role="status">
            {notice.text} {notice.sampleId && <Link to={`/projects/${project.id}/data/${notice.sampleId}`}>Open it</Link>}{" "}
            <Link to={`/projects/${project.id}/data`}>See all samples</Link>
          </p>
        )}
      </Card>
      {info && device && (
        <>
          <Card title="Stream">
            <p data-testid="stream-info">
              <strong>{info.axes}</strong> axes at <strong>{Number(info.frequencyHz.toFixed(2))} Hz</strong>
            </p>
            <div className="axis-names">
              <CheckedInput
                label="Frequency (Hz)"
                name="frequency"
                type="number"
                min={0.001}
                step="any"
                value={frequencyText}
                disabled={busy}
                problem={frequencyProblem}
                onChange={(e) => setFrequencyText(e.target.value)}
              />
              {axisNames.map((name, i) => (
                <label className="field" key={i}>
                  <span>Axis {i + 1}</span>
                  <input value={name} disabled={busy} onChange={(e) => setAxisNames(axisNames.map((n, j) => (j === i ? e.target.value : n)))} />
                </label>
              ))}
            </div>
            <LineChart
              live
              domain={[-LIVE_SECONDS * 1000, 0]}
              label="Live signal"
              t={t}
              series={axisNames.map((name, i) => ({ name: name || `axis${i + 1}`, values: rows.map((r) => r[i]) }))}
              height={220}
            />
          </Card>
          {editor && (
            <Card title="Record a sample">
              <form
                className="inline-form"
                onSubmit={(e) => {
                  e.preventDefault();
                  void record();
                }}
              >
                <label className="field">
                  <span>Label</span>
                  <input name="record-label" value={label} required onChange={(e) => setLabel(e.target.value)} />
                </label>
                <CheckedInput
                  label="Length (ms)"
                  name="record-length"
                  type="number"
                  min={100}
                  max={600000}
                  step={100}
                  value={lengthMs}
                  problem={lengthProblem}
                  onChange={(e) => setLengthMs(Number(e.target.value))}
                />
                <label className="field">
                  <span>Category</span>
                  <select name="record-category" value={category} onChange={(e) => setCategory(e.target.value as Category)}>
                    <option value="training">Training</option>
                    <option value="testing">Testing</option>
                    <option value="anomaly">Anomaly</option>
                    <option value="split">Split automatically</option>
                  </select>
                </label>
                <button className="btn btn-primary" type="submit" disabled={busy || lengthProblem !== null || frequencyProblem !== null}>
                  {phase === "recording" ? "Recording…" : phase === "uploading" ? "Uploading…" : "Start recording"}
                </button>
              </form>
              {phase === "recording" && <ProgressBar value={recordProgress} label="Recording progress" />}
            </Card>
          )}
        </>
      )}
    </>
  );
}
