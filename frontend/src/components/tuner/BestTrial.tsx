/** One trial up close (the best fitting one unless another is chosen), and saving it as the impulse. */
import { Link } from "react-router-dom";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { applyTunerTrial, type TunerApplied, type TunerRun, type TunerTrial } from "../../api/tuner";
import { formatKb, formatMs, keyParams, percent, trialWindow } from "../../lib/tuner";
import { Card, ErrorNote } from "../ui";
import { refresh } from "../../api/queries";

function Stat({ value, label, over, metric }: { value: string; label: string; over?: boolean; metric: string }) {
  return (
    <div className="stat" data-metric={metric}>
      <span className={`stat-value${over ? " error-text" : ""}`}>{value}</span>
      <span className="stat-label">{label}</span>
    </div>
  );
}

function Applied({ projectId, applied }: { projectId: number; applied: TunerApplied }) {
  const base = `/projects/${projectId}`;
  return (
    <div className="ok-note" role="status" data-testid="trial-applied">
      <p>
        Impulse v{applied.impulse_version} saved, training run #{applied.training_run_id}
      </p>
      <p className="row-actions">
        <Link to={`${base}/impulse?impulse=${applied.impulse_id}`}>Impulse design</Link>
        <Link to={`${base}/training?impulse=${applied.impulse_id}`}>Training</Link>
        <Link to={`${base}/deployment`}>Deployment</Link>
      </p>
    </div>
  );
}

export function BestTrial({ projectId, run, trial, editor }: { projectId: number; run: TunerRun; trial: TunerTrial; editor: boolean }) {
  const queryClient = useQueryClient();
  const apply = useMutation({
    mutationFn: () => applyTunerTrial(projectId, run.id, trial.id, run.impulse_id),
    onSuccess: () => {
      // A new impulse version and a trained run: the other pages must see them.
      void refresh(queryClient, ["project", projectId, "impulses"]);
      void refresh(queryClient, ["project", projectId, "training-runs"]);
      void refresh(queryClient, ["project", projectId, "jobs"]);
    },
  });
  const applied = apply.data;
  const { budgets } = run;
  const dsp = keyParams(trial, "dsp");
  const learn = keyParams(trial, "learn");
  const title = trial.best ? `Best trial: ${trial.number}` : `Trial ${trial.number}`;
  return (
    <Card title={title}>
      <div data-testid="trial-card" data-trial={trial.number}>
        {!trial.best && trial.fits === false && (
          <p className="muted small">This trial goes over a budget; the best trial is the most accurate one that fits.</p>
        )}
        <div className="metrics">
          <Stat
            metric="int8-validation"
            value={percent(trial.accuracy.int8_validation)}
            label={`int8 validation accuracy (float32 ${percent(trial.accuracy.float32_validation)})`}
          />
          <Stat metric="int8-test" value={percent(trial.accuracy.int8_test)} label="int8 test accuracy (reported, not used to choose)" />
          <Stat
            metric="ram"
            value={formatKb(trial.ram_bytes)}
            over={(trial.ram_bytes ?? 0) > budgets.ram_bytes}
            label={`impulse RAM (budget ${formatKb(budgets.ram_bytes)})`}
          />
          <Stat
            metric="flash"
            value={formatKb(trial.flash_bytes)}
            over={(trial.flash_bytes ?? 0) > budgets.flash_bytes}
            label={`impulse flash (budget ${formatKb(budgets.flash_bytes)})`}
          />
          <Stat
            metric="latency"
            value={formatMs(trial.latency_ms)}
            over={(trial.latency_ms ?? 0) > budgets.latency_ms}
            label={`per window on ${run.board_id} (budget ${formatMs(budgets.latency_ms)})${trial.instructions ? `, ${trial.instructions.toLocaleString("en-US")} instructions` : ""}`}
          />
        </div>
        <dl className="facts">
          <dt>Window / stride</dt>
          <dd>{trialWindow(trial)}</dd>
          <dt>Processing</dt>
          <dd>
            <strong>{dsp.block ?? "—"}</strong> {dsp.params.join(", ")}
          </dd>
          <dt>Learning</dt>
          <dd>
            <strong>{learn.block ?? "—"}</strong> {learn.params.join(", ")}
          </dd>
        </dl>
        {editor && !applied && (
          <div className="inline-form">
            <button type="button" className="btn btn-primary" disabled={apply.isPending} onClick={() => apply.mutate()}>
              {apply.isPending ? "Saving…" : "Use this trial"}
            </button>
            <span className="muted small">
              Saves its impulse as a new version{run.impulse_id === null ? " of a new impulse" : ""} with its trained model, ready to deploy.
            </span>
          </div>
        )}
        <ErrorNote error={apply.error} />
        {applied && <Applied projectId={projectId} applied={applied} />}
      </div>
    </Card>
  );
}
