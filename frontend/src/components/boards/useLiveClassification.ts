/** Live classification on the connected board: a sample's windows sent one by one, each answer kept. */
import { useRef, useState } from "react";
import type { Schemas } from "../../api/client";
import { readSampleValues } from "../../api/sampleValues";
import { trainedInput } from "../../api/trainedRun";
import type { Device } from "../../lib/device/device";
import { cutWindows } from "../../lib/device/windows";
import { defaultAxisNames } from "../../lib/serial/forwarder";
import type { ClassifiedSignal, Prediction } from "./LivePredictions";
import type { BoardSession } from "./useBoardSession";

type Deployment = Schemas["DeploymentOut"];

export function useLiveClassification(projectId: number, session: BoardSession, firstSample: number | null) {
  const [sampleId, setSampleId] = useState<number | null>(null);
  const sample = sampleId ?? firstSample;
  // The answers belong to the connection that gave them: a new connection starts with none.
  const [results, setResults] = useState<{ device: Device | null; predictions: Prediction[]; signal: ClassifiedSignal | null }>({
    device: null,
    predictions: [],
    signal: null,
  });
  const stopped = useRef(false);

  const classify = (build: Deployment) =>
    session.act("Classifying", async () => {
      const device = session.device;
      if (!device || sample === null) return;
      // Keep the choice: a sample recorded meanwhile must not take the place of the one shown.
      setSampleId(sample);
      await session.pauseStream();
      const { input } = await trainedInput(projectId, build);
      const raw = await readSampleValues(projectId, sample);
      const windows = cutWindows(raw.values, raw.interval_ms, input);
      const names = raw.sensors.length ? raw.sensors.map((s) => s.name) : defaultAxisNames(raw.values[0]?.length ?? 0);
      const signal = { t: raw.values.map((_, i) => i * raw.interval_ms), values: raw.values, names, windowMs: input.window_ms };
      setResults({ device, predictions: [], signal });
      stopped.current = false;
      for (const window of windows) {
        if (stopped.current || !session.isCurrent(device)) break;
        const answer = await device.classify(window.values);
        setResults((r) => ({ ...r, predictions: [...r.predictions, { ...answer, startMs: window.startMs }] }));
      }
    });

  const current = results.device !== null && results.device === session.device;
  return {
    sample,
    choose: setSampleId,
    classify,
    stop: () => {
      stopped.current = true;
    },
    predictions: current ? results.predictions : [],
    signal: current ? results.signal : null,
  };
}
