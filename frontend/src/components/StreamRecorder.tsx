/**
 * Records a board's sensor stream into the dataset: the readings that arrive during the chosen
 * length go up as one sample, at the stream's rate, like a capture on the Devices page.
 */
import { useEffect, useId, useRef, useState } from "react";
import { Link } from "react-router-dom";
import { useQueryClient } from "@tanstack/react-query";
import { api, errorText, unwrap } from "../api/client";
import { uploadFiles } from "../api/upload";
import type { Device } from "../lib/device/device";
import { CaptureAbort, captureFile, readingsFor, StreamCapture } from "../lib/device/capture";
import { ProgressBar } from "./ui";
import { refresh } from "../api/queries";

type Category = "training" | "testing";

/** The rate of a stream and where it comes from ("the replay's rate", "measured …"). */
export interface StreamRate {
  hz: number;
  source: string;
}

interface Stored {
  id: number;
  name: string;
  readings: number;
  intervalMs: number;
  label: string;
  category: string;
}

interface Props {
  projectId: number;
  device: Device | null;
  streaming: boolean;
  /** Null while the rate is not known yet (a Web Serial stream being measured). */
  rate: StreamRate | null;
  axisNames: string[];
  /** Labels to suggest: the model's and the project's. */
  labels: string[];
  deviceName: string;
  /** Another action on the board is running. */
  disabled: boolean;
}

const MAX_SECONDS = 600;
const round = (v: number, digits = 4) => Number(v.toPrecision(digits));

export function StreamRecorder({ projectId, device, streaming, rate, axisNames, labels, deviceName, disabled }: Props) {
  const queryClient = useQueryClient();
  const listId = useId();
  const [label, setLabel] = useState("");
  const [category, setCategory] = useState<Category>("training");
  const [secondsText, setSecondsText] = useState("2");
  const [phase, setPhase] = useState<"idle" | "recording" | "uploading">("idle");
  const [progress, setProgress] = useState<{ done: number; target: number } | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [stored, setStored] = useState<Stored | null>(null);
  // Ends the recording in progress without storing it, saying why.
  const stopRecording = useRef<((reason: string) => void) | null>(null);

  useEffect(() => {
    if (!device) stopRecording.current?.("the board disconnected");
    else if (!streaming) stopRecording.current?.("the stream stopped");
  }, [device, streaming]);
  useEffect(() => () => stopRecording.current?.("the page was left"), []);

  const seconds = Number(secondsText);
  const secondsOk = secondsText.trim() !== "" && seconds > 0 && seconds <= MAX_SECONDS;
  const cleanLabel = label.trim();
  const busy = phase !== "idle";

  async function record() {
    if (!device || !rate || !secondsOk || !cleanLabel) return;
    const hz = rate.hz;
    const target = readingsFor(seconds, hz);
    const capture = new StreamCapture(target);
    setProblem(null);
    setStored(null);
    setProgress({ done: 0, target });
    setPhase("recording");
    let values: number[][];
    try {
      values = await new Promise<number[][]>((resolve, reject) => {
        const finish = (error?: Error) => {
          clearTimeout(timeout);
          unsubscribe();
          stopRecording.current = null;
          if (error) reject(error);
          else resolve(capture.values);
        };
        const unsubscribe = device.transport.onLine((line) => {
          try {
            const done = capture.push(line);
            setProgress({ done: capture.values.length, target });
            if (done) finish();
          } catch (err) {
            finish(err as Error);
          }
        });
        // A board that stops sending must not leave the page waiting.
        const timeout = setTimeout(() => finish(new CaptureAbort("the board stopped sending readings")), seconds * 2000 + 3000);
        stopRecording.current = (reason) => finish(new CaptureAbort(reason));
      });
    } catch (err) {
      setProblem(`Recording stopped: ${(err as Error).message}. Nothing was stored.`);
      setPhase("idle");
      return;
    }
    setPhase("uploading");
    try {
      const { filename, document } = captureFile({ label: cleanLabel, deviceName, frequencyHz: hz, axisNames, values });
      const file = new File([JSON.stringify(document)], filename, { type: "application/json" });
      const result = (await uploadFiles([file], { projectId, label: cleanLabel, category })).get(filename);
      if (result?.state !== "stored" || result.sampleId == null) {
        setProblem(`The studio refused the recording: ${result?.state === "refused" ? result.message : "no answer"}`);
        return;
      }
      // What the studio stored, not what was sent: its readings and interval are the proof.
      const sample = await unwrap(
        api.GET("/api/projects/{project_id}/samples/{sample_id}", { params: { path: { project_id: projectId, sample_id: result.sampleId } } }),
      );
      setStored({
        id: sample.id,
        name: sample.name,
        readings: sample.length,
        intervalMs: sample.interval_ms,
        label: sample.label ?? cleanLabel,
        category: sample.category,
      });
      void refresh(queryClient, ["project", projectId]);
    } catch (err) {
      setProblem(`The recording could not be stored: ${errorText(err)}`);
    } finally {
      setPhase("idle");
    }
  }

  const target = rate && secondsOk ? readingsFor(seconds, rate.hz) : null;
  return (
    <div className="stream-recorder">
      <h3>Record a sample</h3>
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          void record();
        }}
      >
        <label className="field">
          <span>Label</span>
          <input name="record-label" value={label} required list={listId} onChange={(e) => setLabel(e.target.value)} disabled={busy} />
          <datalist id={listId}>
            {labels.map((l) => (
              <option key={l} value={l} />
            ))}
          </datalist>
        </label>
        <label className="field">
          <span>Category</span>
          <select name="record-category" value={category} onChange={(e) => setCategory(e.target.value as Category)} disabled={busy}>
            <option value="training">Training</option>
            <option value="testing">Testing</option>
          </select>
        </label>
        <label className="field narrow">
          <span>Length (s)</span>
          <input
            name="record-seconds"
            type="number"
            min={0.1}
            max={MAX_SECONDS}
            step="any"
            value={secondsText}
            onChange={(e) => setSecondsText(e.target.value)}
            disabled={busy}
            aria-invalid={!secondsOk}
          />
        </label>
        <button className="btn btn-primary" type="submit" disabled={busy || disabled || !streaming || !rate || !secondsOk || !cleanLabel}>
          {phase === "recording" ? "Recording…" : phase === "uploading" ? "Storing…" : "Record"}
        </button>
        {phase === "recording" && (
          <button type="button" className="btn btn-small" onClick={() => stopRecording.current?.("cancelled")}>
            Cancel
          </button>
        )}
      </form>
      <p className="muted small" data-testid="record-rate">
        {!streaming
          ? "Start the stream to record what the board sends."
          : !rate
            ? "Measuring the stream's rate…"
            : `${round(rate.hz)} Hz (${rate.source})${target ? `: ${target} readings in ${round(seconds)} s` : ""}.`}
      </p>
      {phase === "recording" && progress && (
        <>
          <ProgressBar value={progress.done / progress.target} label="Recording progress" />
          <p className="muted small" role="status">
            Recorded {progress.done} of {progress.target} readings
          </p>
        </>
      )}
      {problem && (
        <p className="error-note" role="alert">
          {problem}
        </p>
      )}
      {stored && (
        <p className="ok-note" role="status" data-testid="recorded-sample">
          Stored <Link to={`/projects/${projectId}/data/${stored.id}`}>{stored.name}</Link>: {stored.readings} readings, {round(stored.intervalMs)} ms apart (
          {round(1000 / stored.intervalMs)} Hz), label {stored.label}, {stored.category}. <Link to={`/projects/${projectId}/data`}>See all samples</Link>
        </p>
      )}
    </div>
  );
}
