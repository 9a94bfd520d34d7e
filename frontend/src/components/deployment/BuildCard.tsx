/** The Build card of the deployment page: which trained model (and anomaly run), for which target and board. */
import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "../../api/client";
import { refresh } from "../../api/queries";
import { Card, ErrorNote, formatBytes } from "../ui";

type TrainingRun = Schemas["TrainingRunOut"];
type Target = "c-library" | "arduino-library" | "firmware";
type RunMetrics = { kind?: string; params?: { clusters?: number }; anomaly?: { threshold?: number } };

export const isAnomalyRun = (r: TrainingRun) => (r.metrics as RunMetrics).kind === "anomaly";

export function anomalyRunLabel(runId: number, clusters?: number, threshold?: number) {
  const parts = [
    "K-means",
    clusters !== undefined ? `${clusters} clusters` : null,
    threshold !== undefined ? `threshold ${Number(threshold.toPrecision(3))}` : null,
  ];
  return `run #${runId} (${parts.filter(Boolean).join(", ")})`;
}

const TARGETS: { id: Target; title: string; text: string }[] = [
  { id: "c-library", title: "C library", text: "Plain C99 with the DSP and model, no dependencies; a Makefile/CMake example included." },
  { id: "arduino-library", title: "Arduino library", text: "A zip to add with Sketch → Include Library → Add .ZIP Library." },
  { id: "firmware", title: "Board firmware", text: "A ready image for a catalogued board, measured in QEMU (flash, RAM, latency)." },
];

export function BuildCard({
  projectId,
  succeeded,
  initialRun,
  onBuilt,
}: {
  projectId: number;
  /** The project's training runs that succeeded. */
  succeeded: TrainingRun[];
  /** The run a link asked to deploy (`?run=`), if any. */
  initialRun: number | null;
  onBuilt: (deploymentId: number) => void;
}) {
  const queryClient = useQueryClient();
  const boards = useQuery({ queryKey: ["boards"], queryFn: () => unwrap(api.GET("/api/boards")), staleTime: Infinity });
  const [runId, setRunId] = useState<number | null>(initialRun);
  const [target, setTarget] = useState<Target>("c-library");
  const [boardId, setBoardId] = useState<string>("");
  const [anomalyChoice, setAnomalyChoice] = useState<{ runId: number; anomalyRunId: number } | null>(null);
  // Anomaly runs are not deployed alone: they join a model of the same impulse version.
  const trained = succeeded.filter((r) => !isAnomalyRun(r));
  const run = runId ?? trained[0]?.id ?? null;
  const chosenRun = trained.find((r) => r.id === run);
  const anomalyRuns = chosenRun ? succeeded.filter((r) => isAnomalyRun(r) && r.impulse_version_id === chosenRun.impulse_version_id) : [];
  // The choice belongs to the run it was made for; another run starts with none.
  const anomalyRunId =
    anomalyChoice && anomalyChoice.runId === run && anomalyRuns.some((r) => r.id === anomalyChoice.anomalyRunId) ? anomalyChoice.anomalyRunId : null;
  const board = boards.data?.find((b) => b.id === boardId);
  const deploy = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/projects/{project_id}/training-runs/{run_id}/deployments", {
          params: { path: { project_id: projectId, run_id: run! } },
          body: { target, board_id: target === "firmware" ? boardId : null, anomaly_run_id: anomalyRunId },
        }),
      ),
    onSuccess: (d) => {
      onBuilt(d.id);
      void refresh(queryClient, ["project", projectId, "deployments"]);
    },
  });
  return (
    <Card title="Build">
      <label className="field" style={{ maxWidth: 320 }}>
        <span>Trained model</span>
        <select name="run" value={run ?? ""} onChange={(e) => setRunId(Number(e.target.value))}>
          {trained.map((r) => {
            const acc = (r.metrics as { evaluation?: { int8?: { test?: { accuracy?: number } } } }).evaluation?.int8?.test?.accuracy;
            return (
              <option key={r.id} value={r.id}>
                Run #{r.id}
                {acc !== undefined ? ` · int8 test ${(acc * 100).toFixed(1)} %` : ""}
              </option>
            );
          })}
        </select>
      </label>
      {anomalyRuns.length > 0 && (
        <label className="field" style={{ maxWidth: 420 }}>
          <span>Anomaly detection</span>
          <select
            name="anomaly-run"
            value={anomalyRunId ?? ""}
            onChange={(e) => setAnomalyChoice(e.target.value && run !== null ? { runId: run, anomalyRunId: Number(e.target.value) } : null)}
          >
            <option value="">none</option>
            {anomalyRuns.map((r) => {
              const metrics = r.metrics as RunMetrics;
              return (
                <option key={r.id} value={r.id}>
                  {anomalyRunLabel(r.id, metrics.params?.clusters, metrics.anomaly?.threshold)}
                </option>
              );
            })}
          </select>
          <span className="muted small">A K-means anomaly run of the same impulse version: every window also gets an anomaly score.</span>
        </label>
      )}
      <fieldset className="targets">
        <legend className="sr-only">Target</legend>
        {TARGETS.map((t) => (
          <label key={t.id} className="target">
            <input type="radio" name="target" value={t.id} checked={target === t.id} onChange={() => setTarget(t.id)} />
            <span>
              <strong>{t.title}</strong>
              <br />
              <span className="muted small">{t.text}</span>
            </span>
          </label>
        ))}
      </fieldset>
      {target === "firmware" && (
        <div className="inline-form">
          <label className="field">
            <span>Board</span>
            <select name="board" value={boardId} onChange={(e) => setBoardId(e.target.value)}>
              <option value="">Choose a board…</option>
              {boards.data?.map((b) => (
                <option key={b.id} value={b.id} disabled={!b.firmware_buildable}>
                  {b.name} ({b.core}, {formatBytes(b.flash_bytes)} flash, {formatBytes(b.ram_bytes)} RAM){b.firmware_buildable ? "" : " — not buildable here"}
                </option>
              ))}
            </select>
          </label>
          {board && (
            <span className="muted small">
              {board.flash_method} · {board.clock_hz / 1e6} MHz{board.qemu_machine ? ` · virtual: ${board.qemu_machine}` : ""}
            </span>
          )}
        </div>
      )}
      {target === "firmware" && board && !board.firmware_buildable && <p className="error-note">{board.firmware_unavailable_reason}</p>}
      {target === "firmware" && boards.data && boards.data.some((b) => !b.firmware_buildable) && (
        <details className="small">
          <summary>Why some boards cannot be built here</summary>
          <ul>
            {boards.data
              .filter((b) => !b.firmware_buildable)
              .map((b) => (
                <li key={b.id}>
                  <strong>{b.name}</strong>: {b.firmware_unavailable_reason ?? "no toolchain"}
                </li>
              ))}
          </ul>
        </details>
      )}
      <button className="btn btn-primary" disabled={deploy.isPending || run === null || (target === "firmware" && !boardId)} onClick={() => deploy.mutate()}>
        {deploy.isPending ? "Starting…" : "Build"}
      </button>
      <ErrorNote error={deploy.error || boards.error} />
    </Card>
  );
}
