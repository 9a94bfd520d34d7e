/** A tuner run followed live: progress, cancel, what it found, the chart and the trials. */
import { useState } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { cancelTunerRun, tunerKeys, usePrunedEpochs, useTunerRun, type TunerRun } from "../../api/tuner";
import { formatKb, formatMs, runElapsedMs, runProgress } from "../../lib/tuner";
import { Card, ErrorNote, formatDuration, Loading, ProgressBar, StatusBadge } from "../ui";
import { BestTrial } from "./BestTrial";
import { ParetoChart } from "./ParetoChart";
import { TrialTable } from "./TrialTable";
import { refresh } from "../../api/queries";
import { useConfirm } from "../ConfirmDialog";

function Progress({ run, projectId, editor }: { run: TunerRun; projectId: number; editor: boolean }) {
  const queryClient = useQueryClient();
  const cancel = useMutation({
    mutationFn: () => cancelTunerRun(projectId, run.id),
    onSuccess: (answer) => {
      queryClient.setQueryData(tunerKeys.run(projectId, run.id), answer);
      void refresh(queryClient, tunerKeys.runs(projectId));
    },
  });
  const running = run.status === "running";
  const { done, total, fraction } = runProgress(run);
  const confirm = useConfirm();
  const askCancel = async () => {
    const yes = await confirm({
      title: `Cancel this search after ${done} of ${total} trials?`,
      body: <p>Trials in progress stop; finished trials are kept.</p>,
      confirmLabel: "Cancel the search",
      danger: true,
    });
    if (yes) cancel.mutate();
  };
  const { settings, budgets } = run;
  return (
    <div className="job" aria-live="polite" data-run-status={run.status}>
      <div className="job-line">
        <StatusBadge status={run.status} />
        <span data-testid="run-progress">
          {done} of {total} trials done · {formatDuration(runElapsedMs(run, Date.now()))}
        </span>
        {editor && running && (
          <button type="button" className="btn btn-small btn-danger" disabled={cancel.isPending} onClick={() => void askCancel()}>
            {cancel.isPending ? "Cancelling…" : "Cancel search"}
          </button>
        )}
      </div>
      {running && <ProgressBar value={fraction} label="Search progress" />}
      <p className="muted small">
        {run.board_id} · budgets {formatKb(budgets.ram_bytes)} RAM, {formatKb(budgets.flash_bytes)} flash, {formatMs(budgets.latency_ms)} per window ·{" "}
        {settings.sampler === "tpe" ? "TPE with constraints" : "random baseline"} (seed {settings.seed}) ·{" "}
        {settings.parallel_trials == null ? "as many at once as the workers take" : `${settings.parallel_trials} at once`} · up to {settings.max_epochs} epochs
        {settings.time_budget_s ? ` · time budget ${formatDuration(settings.time_budget_s * 1000)}` : ""}
      </p>
      {run.message && (
        <p className="small" data-testid="run-message">
          {run.message}
        </p>
      )}
      <ErrorNote error={cancel.error} />
    </div>
  );
}

export function RunView({ projectId, runId, editor }: { projectId: number; runId: number; editor: boolean }) {
  const query = useTunerRun(projectId, runId);
  const [chosenId, setChosenId] = useState<number | null>(null);
  const run = query.data;
  const prunedAt = usePrunedEpochs(projectId, run?.trials ?? []);
  if (query.isPending) return <Loading what="the tuner run" />;
  if (!run) return <ErrorNote error={query.error} />;
  const shown = run.trials.find((t) => t.id === chosenId) ?? run.trials.find((t) => t.best) ?? null;
  const measured = run.trials.some((t) => t.ram_bytes !== null);
  return (
    <>
      <Card title={`Tuner run #${run.id}`}>
        <Progress run={run} projectId={projectId} editor={editor} />
        {run.result_note && (
          <p className={run.best_trial_id !== null ? "ok-note" : "error-note"} data-testid="result-note">
            {run.result_note}
          </p>
        )}
        {run.starting_point_note && (
          <p className="muted small" data-testid="starting-point-note">
            {run.starting_point_note}
          </p>
        )}
        {/* A poll that fails keeps the last answer on screen and says so. */}
        <ErrorNote error={query.error} />
      </Card>
      {shown && <BestTrial key={shown.id} projectId={projectId} run={run} trial={shown} editor={editor} />}
      <Card title="Accuracy against cost">
        {measured ? (
          <ParetoChart trials={run.trials} budgets={run.budgets} />
        ) : (
          <p className="muted" role="status">
            Points appear as trials are measured on the board.
          </p>
        )}
      </Card>
      <Card title={`Trials (${run.trials.length})`}>
        <TrialTable trials={run.trials} budgets={run.budgets} chosenId={shown?.id ?? null} onChoose={(t) => setChosenId(t.id)} prunedAt={prunedAt} />
      </Card>
    </>
  );
}
