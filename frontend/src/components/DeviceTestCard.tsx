/**
 * On-device testing of a firmware build: by the studio on a fresh virtual board, or from this
 * page through the connected board (Web Serial or a virtual board's WebSocket). Both compare
 * labels and scores with the studio's int8 results; a browser test is kept on the build.
 */
import { useRef, useState } from "react";
import { Link } from "react-router-dom";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Project, type Schemas } from "../api/client";
import { useJobEvents } from "../api/jobs";
import { readSampleValues } from "../api/sampleValues";
import { trainedInput, trainingResult } from "../api/trainedRun";
import { JobProgress } from "./JobProgress";
import { DifferingScores, ScoreStat } from "./ScoreComparison";
import { Card, ErrorNote, ProgressBar } from "./ui";
import type { Device, DeviceInfo } from "../lib/device/device";
import { runDeviceTest, type AnomalyReference, type DeviceTestReport } from "../lib/device/deviceTest";
import { refresh } from "../api/queries";

type Deployment = Schemas["DeploymentOut"];

/** A test's result: the browser's report, or the server's with its board and a timing note. */
interface DeviceTestResult extends DeviceTestReport {
  board?: string;
  timing?: string;
}

const percent = (v: number | null | undefined) => (v == null ? "—" : `${(v * 100).toFixed(1)} %`);

/** The anomaly run built into the build: its threshold and its scored test windows. */
async function anomalyReference(projectId: number, deployment: Deployment): Promise<AnomalyReference | null> {
  if (deployment.anomaly_run_id == null) return null;
  const run = await unwrap(
    api.GET("/api/projects/{project_id}/training-runs/{run_id}", { params: { path: { project_id: projectId, run_id: deployment.anomaly_run_id } } }),
  );
  const result = await trainingResult(projectId, run);
  const threshold = result.anomaly?.threshold;
  return threshold == null ? null : { threshold, windows: result.test_windows ?? [] };
}

/** Runs the build's test set through `device` from the browser (any transport). */
async function testThroughDevice(
  projectId: number,
  deployment: Deployment,
  device: Device,
  onProgress: (done: number, total: number) => void,
  cancelled: () => boolean,
): Promise<DeviceTestReport> {
  const { run, input } = await trainedInput(projectId, deployment);
  const result = await trainingResult(projectId, run);
  const studio = result.test_windows ?? [];
  const classes = result.classes ?? (run.metrics as { classes?: string[] }).classes ?? [];
  // The firmware's own output quantization: scores are compared in its steps.
  const info: DeviceInfo = await device.info();
  const output = (info.outputs as { scale?: number; zero_point?: number }[] | undefined)?.[0] ?? null;
  const anomaly = await anomalyReference(projectId, deployment);
  const ids = [...new Set(studio.map((w) => w.sample_id))];
  const samples = await Promise.all(
    ids.map(async (id) => {
      const raw = await readSampleValues(projectId, id);
      return { id, intervalMs: raw.interval_ms, values: raw.values };
    }),
  );
  return runDeviceTest({ samples, studio, input, classes, output, anomaly, classify: (values) => device.classify(values), onProgress, cancelled });
}

function TestReport({ result, projectId }: { result: DeviceTestResult; projectId: number }) {
  return (
    <div data-testid="device-test-result">
      <div className="metrics">
        <div className="stat" data-metric="device">
          <span className="stat-value">{percent(result.device_accuracy)}</span>
          <span className="stat-label">device accuracy ({result.windows} windows)</span>
        </div>
        <div className="stat" data-metric="studio">
          <span className="stat-value">{percent(result.studio_int8_accuracy)}</span>
          <span className="stat-label">studio int8 accuracy</span>
        </div>
        <div className="stat" data-metric="agreement">
          <span className="stat-value">{percent(result.agreement)}</span>
          <span className="stat-label">agreement with the studio</span>
        </div>
        {result.scores && <ScoreStat scores={result.scores} />}
        <div className="stat">
          <span className="stat-value">{result.mean_inference_us == null ? "—" : `${Math.round(result.mean_inference_us)} µs`}</span>
          <span className="stat-label">mean inference{result.timing?.startsWith("virtual") ? " (virtual time)" : ""}</span>
        </div>
        {result.anomaly && (
          <div className="stat" data-metric="anomaly">
            <span className="stat-value">{result.anomaly.max_abs_difference == null ? "—" : result.anomaly.max_abs_difference.toExponential(1)}</span>
            <span className="stat-label">
              largest anomaly score difference · {result.anomaly.device_anomalous} of {result.anomaly.windows} windows anomalous on the device,{" "}
              {result.anomaly.studio_anomalous} in the studio
            </span>
          </div>
        )}
      </div>
      <div className="side-by-side">
        <div>
          <h3>Confusion matrix on the device</h3>
          <table className="table confusion" aria-label="Device confusion matrix (rows: true label, columns: predicted)">
            <thead>
              <tr>
                <th>true \ predicted</th>
                {result.classes.map((c) => (
                  <th key={c}>{c}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {result.confusion_matrix.map((row, i) => (
                <tr key={result.classes[i]}>
                  <th scope="row">{result.classes[i]}</th>
                  {row.map((count, j) => (
                    <td key={j} className={`cell ${i === j ? "diag" : count ? "off" : ""}`}>
                      {count}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <div>
          <h3>Windows where the device and the studio disagree</h3>
          {result.disagreements.length === 0 ? (
            <p className="success-note" role="status">
              None: the device agrees with the studio on every window.
            </p>
          ) : (
            <table className="table compact" aria-label="Disagreements">
              <thead>
                <tr>
                  <th>Sample</th>
                  <th>Window</th>
                  <th>Label</th>
                  <th>Device</th>
                  <th>Studio int8</th>
                </tr>
              </thead>
              <tbody>
                {result.disagreements.map((d) => (
                  <tr key={`${d.sample_id}-${d.window_start_ms}`}>
                    <td>
                      <Link to={`/projects/${projectId}/data/${d.sample_id}?window=${d.window_start_ms}`}>#{d.sample_id}</Link>
                    </td>
                    <td>{d.window_start_ms} ms</td>
                    <td>{d.label ?? "—"}</td>
                    <td>{d.device ?? "—"}</td>
                    <td>{d.studio_int8 ?? "—"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      </div>
      {result.scores && <DifferingScores scores={result.scores} projectId={projectId} />}
      {result.timing && <p className="muted small">{result.timing}</p>}
    </div>
  );
}

interface DeviceTestCardProps {
  project: Project;
  /** The build the connected board runs (else the one chosen). */
  deployment: Deployment;
  device: Device | null;
  timing: string | undefined;
  /** The connected board as a test kept on the build names it. */
  boardDescription: string;
}

export function DeviceTestCard({ project, deployment, device, timing, boardDescription }: DeviceTestCardProps) {
  const queryClient = useQueryClient();
  const [jobId, setJobId] = useState<number | null>(null);
  const job = useJobEvents(project.id, jobId);
  const [progress, setProgress] = useState<[number, number] | null>(null);
  const [browserResult, setBrowserResult] = useState<DeviceTestResult | null>(null);
  const cancelBrowser = useRef(false);
  // A finished browser test becomes the build's last on-device test, as the studio's test does.
  const keep = useMutation({
    mutationFn: (report: DeviceTestReport) =>
      unwrap(
        api.POST("/api/projects/{project_id}/deployments/{deployment_id}/device-test-results", {
          params: { path: { project_id: project.id, deployment_id: deployment.id } },
          body: {
            source: "browser",
            board: boardDescription,
            windows: report.windows,
            agreement: report.agreement,
            device_accuracy: report.device_accuracy,
            studio_int8_accuracy: report.studio_int8_accuracy,
            scores: report.scores,
          },
        }),
      ),
    onSuccess: () => {
      void refresh(queryClient, ["project", project.id, "deployments"]);
      void refresh(queryClient, ["project", project.id, "deployment", deployment.id]);
    },
  });
  const start = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/projects/{project_id}/deployments/{deployment_id}/device-test", {
          params: { path: { project_id: project.id, deployment_id: deployment.id } },
        }),
      ),
    onSuccess: (j) => {
      setBrowserResult(null);
      browser.reset();
      keep.reset();
      setJobId(j.id);
    },
  });
  const browser = useMutation({
    mutationFn: async () => {
      cancelBrowser.current = false;
      setJobId(null);
      setBrowserResult(null);
      keep.reset();
      setProgress([0, 0]);
      const report = await testThroughDevice(
        project.id,
        deployment,
        device!,
        (done, total) => setProgress([done, total]),
        () => cancelBrowser.current,
      );
      // The firmware says whether its times are a real clock's or QEMU's virtual time.
      const info =
        timing === "hardware"
          ? "measured on the board's clock"
          : timing === "virtual"
            ? "virtual (QEMU time, not a latency)"
            : "timing as the board reports it";
      setBrowserResult({
        ...report,
        timing: `${info}; windows sent from this page over ${device!.transport.kind === "websocket" ? "the virtual board's WebSocket" : "Web Serial"}`,
      });
      // A cancelled test covers part of the test set: it is shown, not kept.
      if (!cancelBrowser.current) keep.mutate(report);
      return cancelBrowser.current;
    },
  });
  const jobRunning = job !== null && !["succeeded", "failed", "cancelled"].includes(job.status);
  const result = browserResult ?? (job?.status === "succeeded" ? (job.result as unknown as DeviceTestResult) : null);
  return (
    <Card title="On-device testing">
      <p className="muted small">
        Runs the test set of build #{deployment.id} through the firmware's <code>classify</code> command and compares every window with the studio's int8 model,
        label and scores: on a fresh virtual {deployment.board_id} in the studio, or from this page through the board connected above.
      </p>
      <div className="inline-form">
        <button className="btn btn-primary" disabled={start.isPending || jobRunning || browser.isPending} onClick={() => start.mutate()}>
          Run on-device testing
        </button>
        <button className="btn" disabled={!device || browser.isPending || jobRunning} onClick={() => browser.mutate()}>
          {browser.isPending ? "Testing…" : "Test through the connected board"}
        </button>
        {browser.isPending && (
          <button
            className="btn btn-small"
            onClick={() => {
              cancelBrowser.current = true;
            }}
          >
            Cancel
          </button>
        )}
      </div>
      <ErrorNote error={start.error || browser.error || keep.error} />
      {jobId !== null && <JobProgress job={job} projectId={project.id} title="On-device test" />}
      {browser.isPending && progress && (
        <ProgressBar value={progress[1] ? progress[0] / progress[1] : 0} label={`Tested ${progress[0]} of ${progress[1]} windows`} />
      )}
      {browser.isPending && progress && (
        <p className="muted small" role="status">
          {progress[0]} of {progress[1] || "…"} windows classified on the board
        </p>
      )}
      {browser.data === true && (
        <p className="muted small" role="status">
          Cancelled: the windows tested so far are shown, not kept on build #{deployment.id}.
        </p>
      )}
      {keep.isSuccess && (
        <p className="muted small" role="status" data-testid="device-test-kept">
          Kept on build #{deployment.id} as its last on-device test: tested in the browser on {boardDescription}. The{" "}
          <Link to={`/projects/${project.id}/deployment`}>Deployment page</Link> shows it.
        </p>
      )}
      {result && <TestReport result={result} projectId={project.id} />}
    </Card>
  );
}
