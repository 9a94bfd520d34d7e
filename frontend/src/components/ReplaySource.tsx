/**
 * What a virtual board's sensor replays: a sample of the project, a CSV file picked in the
 * browser, or a signal drawn with the pointer. The page sends the choice to the board.
 */
import { useMemo, useState, type ChangeEvent } from "react";
import type { Schemas } from "../api/client";
import { drawnSignal, emptyCurve, isDrawn, type Curve } from "../lib/device/drawnSignal";
import { MAX_REPLAY_READINGS, parseSignalCsv, SignalFileError, type ParsedSignal } from "../lib/device/signalFile";
import { defaultAxisNames } from "../lib/serial/forwarder";
import { LineChart } from "./LineChart";
import { SignalCanvas } from "./SignalCanvas";

type Sample = Schemas["SampleOut"];
type Source = "sample" | "file" | "drawing";

/** A replay the page sends to the board: a stored sample, or readings at a rate. */
export type ReplayRequest =
  | { kind: "sample"; sampleId: number; description: string; axisNames: string[] }
  | { kind: "values"; values: number[][]; hz: number; description: string; axisNames: string[] };

// Larger files are not signals a board replays; reading them would only freeze the page.
const MAX_FILE_BYTES = 16 * 1024 * 1024;
const MAX_DRAWN_AXES = 6;
const SOURCES: { id: Source; name: string }[] = [
  { id: "sample", name: "Sample" },
  { id: "file", name: "CSV file" },
  { id: "drawing", name: "Drawing" },
];

const hzText = (hz: number) => String(Number(hz.toPrecision(6)));

/** A positive number typed in a field, or null. */
function positive(text: string): number | null {
  const value = Number(text);
  return text.trim() !== "" && Number.isFinite(value) && value > 0 ? value : null;
}

interface Props {
  samples: Sample[];
  disabled: boolean;
  replaying: boolean;
  onReplay: (request: ReplayRequest) => void;
}

export function ReplaySource({ samples, disabled, replaying, onReplay }: Props) {
  const [source, setSource] = useState<Source>("sample");
  const [sampleId, setSampleId] = useState<number | null>(null);
  const sample = samples.find((s) => s.id === sampleId) ?? samples[0] ?? null;
  const button = (what: string) => (replaying ? "Replaying…" : `Replay ${what}`);
  return (
    <div className="replay-source">
      <div className="inline-form">
        <span className="field-label" id="replay-source-label">
          Replay into the sensor
        </span>
        <div className="segmented" role="group" aria-labelledby="replay-source-label">
          {SOURCES.map((s) => (
            <button key={s.id} type="button" className={source === s.id ? "active" : ""} aria-pressed={source === s.id} onClick={() => setSource(s.id)}>
              {s.name}
            </button>
          ))}
        </div>
      </div>
      {source === "sample" && (
        <div className="inline-form">
          <label className="field">
            <span>Sample</span>
            <select name="replay-sample" value={sample?.id ?? ""} onChange={(e) => setSampleId(Number(e.target.value))}>
              {samples.map((s) => (
                <option key={s.id} value={s.id}>
                  {s.name} · {s.label ?? "unlabelled"} · {s.category}
                </option>
              ))}
            </select>
          </label>
          <button
            className="btn"
            disabled={disabled || !sample}
            onClick={() => {
              if (!sample) return;
              // Keep the choice: a sample recorded from the stream lists first afterwards.
              setSampleId(sample.id);
              onReplay({ kind: "sample", sampleId: sample.id, description: `sample ${sample.name}`, axisNames: sample.sensors.map((s) => s.name) });
            }}
          >
            {button("sample")}
          </button>
        </div>
      )}
      {/* Hidden rather than unmounted, so a picked file or a drawing survives a look at another source. */}
      <div hidden={source !== "file"}>
        <FileSource disabled={disabled} buttonText={button("file")} onReplay={onReplay} />
      </div>
      <div hidden={source !== "drawing"}>
        <DrawingSource disabled={disabled} buttonText={button("drawing")} onReplay={onReplay} />
      </div>
    </div>
  );
}

function FileSource({ disabled, buttonText, onReplay }: { disabled: boolean; buttonText: string; onReplay: (r: ReplayRequest) => void }) {
  const [file, setFile] = useState<{ name: string; signal: ParsedSignal } | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [rateText, setRateText] = useState("100");
  const hz = file?.signal.hz ?? positive(rateText);

  async function pick(event: ChangeEvent<HTMLInputElement>) {
    const picked = event.target.files?.[0];
    setFile(null);
    setProblem(null);
    if (!picked) return;
    try {
      if (picked.size > MAX_FILE_BYTES)
        throw new SignalFileError(`the file has ${(picked.size / 1024 / 1024).toFixed(1)} MB; a replay takes at most ${MAX_REPLAY_READINGS} readings`);
      setFile({ name: picked.name, signal: parseSignalCsv(await picked.text()) });
    } catch (err) {
      setProblem(`${picked.name} cannot be replayed: ${err instanceof SignalFileError ? err.message : (err as Error).message || "it cannot be read"}.`);
    }
  }

  const preview = useMemo(() => {
    if (!file) return null;
    const step = 1000 / (hz ?? 1);
    return {
      t: file.signal.values.map((_, i) => i * step),
      series: file.signal.axisNames.map((name, a) => ({ name, values: file.signal.values.map((v) => v[a]) })),
    };
  }, [file, hz]);

  return (
    <>
      <div className="inline-form">
        <label className="field">
          <span>CSV file</span>
          <input type="file" name="replay-file" accept=".csv,.txt,text/csv,text/plain" onChange={(e) => void pick(e)} />
        </label>
        {file && file.signal.hz === null && (
          <label className="field">
            <span>Rate (Hz)</span>
            <input
              name="replay-file-hz"
              type="number"
              min={0.001}
              step="any"
              value={rateText}
              onChange={(e) => setRateText(e.target.value)}
              aria-invalid={hz === null}
            />
          </label>
        )}
        <button
          className="btn"
          disabled={disabled || !file || hz === null}
          onClick={() =>
            file && hz && onReplay({ kind: "values", values: file.signal.values, hz, description: `file ${file.name}`, axisNames: file.signal.axisNames })
          }
        >
          {buttonText}
        </button>
      </div>
      {!file && !problem && (
        <p className="muted small">
          A header naming the columns is optional; a <code>timestamp</code> column (ms, or <code>timestamp (s)</code>) gives the rate, every other column is one
          axis.
        </p>
      )}
      {problem && (
        <p className="error-note" role="alert">
          {problem}
        </p>
      )}
      {file && (
        <p className="muted small" data-testid="replay-file-summary">
          {file.name}: {file.signal.values.length} readings × {file.signal.axisNames.length} axes ({file.signal.axisNames.join(", ")}),{" "}
          {file.signal.hz === null ? "no timestamps: give the rate" : `${hzText(file.signal.hz)} Hz from the timestamps`}
        </p>
      )}
      {preview && <LineChart t={preview.t} series={preview.series} live label="Signal in the file" height={140} />}
    </>
  );
}

function DrawingSource({ disabled, buttonText, onReplay }: { disabled: boolean; buttonText: string; onReplay: (r: ReplayRequest) => void }) {
  const [curves, setCurves] = useState<Curve[]>(() => [emptyCurve()]);
  const [active, setActive] = useState(0);
  const [readingsText, setReadingsText] = useState("200");
  const [rateText, setRateText] = useState("50");
  const [minText, setMinText] = useState("-10");
  const [maxText, setMaxText] = useState("10");
  const readings = positive(readingsText);
  const hz = positive(rateText);
  const min = Number(minText);
  const max = Number(maxText);
  const rangeOk = minText.trim() !== "" && maxText.trim() !== "" && Number.isFinite(min) && Number.isFinite(max) && min < max;
  const readingsOk = readings !== null && Number.isInteger(readings) && readings >= 2 && readings <= MAX_REPLAY_READINGS;
  const axisNames = defaultAxisNames(curves.length);
  const ready = readingsOk && hz !== null && rangeOk && curves.some(isDrawn);

  function setAxes(count: number) {
    setCurves((old) => Array.from({ length: count }, (_, i) => old[i] ?? emptyCurve()));
    setActive((a) => Math.min(a, count - 1));
  }

  function replay() {
    if (!ready) return;
    const values = drawnSignal(curves, { readings: readings!, min, max });
    onReplay({ kind: "values", values, hz: hz!, description: `a drawing of ${curves.length === 1 ? "one axis" : `${curves.length} axes`}`, axisNames });
  }

  return (
    <>
      <div className="inline-form">
        <label className="field">
          <span>Axes</span>
          <select name="drawing-axes" value={curves.length} onChange={(e) => setAxes(Number(e.target.value))}>
            {Array.from({ length: MAX_DRAWN_AXES }, (_, i) => (
              <option key={i} value={i + 1}>
                {i + 1}
              </option>
            ))}
          </select>
        </label>
        {curves.length > 1 && (
          <div className="field">
            <span id="drawing-axis-label">Draw on</span>
            <div className="segmented" role="group" aria-labelledby="drawing-axis-label">
              {axisNames.map((name, i) => (
                <button key={i} type="button" className={active === i ? "active" : ""} aria-pressed={active === i} onClick={() => setActive(i)}>
                  {name}
                </button>
              ))}
            </div>
          </div>
        )}
        <label className="field narrow">
          <span>Readings</span>
          <input
            name="drawing-readings"
            type="number"
            min={2}
            max={MAX_REPLAY_READINGS}
            step={1}
            value={readingsText}
            onChange={(e) => setReadingsText(e.target.value)}
            aria-invalid={!readingsOk}
          />
        </label>
        <label className="field narrow">
          <span>Rate (Hz)</span>
          <input
            name="drawing-hz"
            type="number"
            min={0.001}
            step="any"
            value={rateText}
            onChange={(e) => setRateText(e.target.value)}
            aria-invalid={hz === null}
          />
        </label>
        <label className="field narrow">
          <span>Bottom</span>
          <input name="drawing-min" type="number" step="any" value={minText} onChange={(e) => setMinText(e.target.value)} aria-invalid={!rangeOk} />
        </label>
        <label className="field narrow">
          <span>Top</span>
          <input name="drawing-max" type="number" step="any" value={maxText} onChange={(e) => setMaxText(e.target.value)} aria-invalid={!rangeOk} />
        </label>
        <button
          type="button"
          className="btn btn-small"
          disabled={!isDrawn(curves[active])}
          onClick={() => setCurves((old) => old.map((c, i) => (i === active ? emptyCurve() : c)))}
        >
          Clear {axisNames[active]}
        </button>
      </div>
      <SignalCanvas
        curves={curves}
        active={active}
        axisNames={axisNames}
        min={rangeOk ? min : 0}
        max={rangeOk ? max : 1}
        onChange={setCurves}
        label={`Drawing of ${axisNames[active]}: draw with the pointer from left to right`}
      />
      <div className="inline-form">
        <button className="btn" disabled={disabled || !ready} onClick={replay}>
          {buttonText}
        </button>
        <span className="muted small" role="status">
          {!curves.some(isDrawn)
            ? "Draw with the pointer, from left to right; an axis you leave empty stays at 0."
            : !readingsOk
              ? `Readings must be a whole number from 2 to ${MAX_REPLAY_READINGS}.`
              : hz === null
                ? "The rate must be above 0."
                : !rangeOk
                  ? "The bottom must be below the top."
                  : `${readings} readings at ${hzText(hz)} Hz: ${hzText(readings! / hz)} s, looped by the stream.`}
        </span>
      </div>
    </>
  );
}
