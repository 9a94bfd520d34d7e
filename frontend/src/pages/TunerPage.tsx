/** Tuner: search windows, processing and learning blocks for the most accurate impulse that fits a board. */
import { Link, useOutletContext, useSearchParams } from "react-router-dom";
import type { Project } from "../api/client";
import { atLeast, useSummary } from "../api/queries";
import { useTunerRuns, type TunerRunSummary } from "../api/tuner";
import { RunView } from "../components/tuner/RunView";
import { TunerForm } from "../components/tuner/TunerForm";
import { Card, EmptyState, ErrorNote, formatDate, Loading, ShowButton, StatusBadge } from "../components/ui";
import { percent } from "../lib/tuner";
import { useBlocks, useImpulses } from "../api/impulses";
import "../components/tuner/tuner.css";

function PastRuns({ runs, shownId, onShow }: { runs: TunerRunSummary[]; shownId: number | null; onShow: (id: number) => void }) {
  return (
    <div className="table-wrap tuner-table-wrap">
      <table className="table compact" aria-label="Tuner runs">
        <thead>
          <tr>
            <th>Run</th>
            <th>Board</th>
            <th>Sampler</th>
            <th>Trials</th>
            <th>Best int8 val.</th>
            <th>Status</th>
            <th>Started</th>
            <th aria-label="Show" />
          </tr>
        </thead>
        <tbody>
          {runs.map((r) => (
            <tr key={r.id} aria-current={shownId === r.id || undefined}>
              <td>#{r.id}</td>
              <td className="nowrap">{r.board_id}</td>
              <td>{r.sampler === "tpe" ? "TPE" : "random"}</td>
              <td>
                {r.trials_done} / {r.status === "running" ? r.settings.max_trials : r.trials_total}
              </td>
              <td>{percent(r.best_accuracy)}</td>
              <td>
                <StatusBadge status={r.status} />
              </td>
              <td className="muted small nowrap">{formatDate(r.created_at)}</td>
              <td>
                <ShowButton shown={shownId === r.id} onShow={() => onShow(r.id)} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function TunerPage() {
  const project = useOutletContext<Project>();
  const editor = atLeast(project.role, "editor");
  const impulses = useImpulses(project.id);
  const blocks = useBlocks();
  const summary = useSummary(project.id);
  const runs = useTunerRuns(project.id);
  const [params, setParams] = useSearchParams();
  const wanted = Number(params.get("run"));
  // A run just started may not be in the list yet: the one named in the address is shown anyway.
  const shownId = wanted > 0 ? wanted : (runs.data?.[0]?.id ?? null);
  const show = (id: number) => setParams({ run: String(id) }, { replace: true });
  const samples = Object.values(summary.data?.categories ?? {}).reduce((n, c) => n + (c?.count ?? 0), 0);

  if (runs.isPending || impulses.isPending || summary.isPending) return <Loading what="the tuner" />;
  return (
    <>
      <h1>Tuner</h1>
      <p className="muted">
        Each trial trains a candidate impulse, builds it into firmware for the board and measures its RAM, flash and time per window there. The most accurate
        trial within the budgets wins.
      </p>
      <ErrorNote error={runs.error ?? impulses.error ?? summary.error} />
      {samples === 0 ? (
        <EmptyState title="Collect data first">
          <p>
            The tuner trains on the project's data: <Link to={`/projects/${project.id}/data`}>upload or record some</Link>, then come back.
          </p>
        </EmptyState>
      ) : editor ? (
        <TunerForm projectId={project.id} impulses={impulses.data ?? []} blocks={blocks.data} onStarted={(run) => show(run.id)} />
      ) : (
        <p className="muted small">You can read the searches; editors start them.</p>
      )}
      {shownId !== null && <RunView key={shownId} projectId={project.id} runId={shownId} editor={editor} />}
      <Card title="Searches">
        {runs.data?.length === 0 ? (
          <EmptyState title="No searches yet">
            <p>{editor ? "Choose a board and budgets above, then start a search." : "When an editor starts a search, it shows here."}</p>
          </EmptyState>
        ) : (
          runs.data && <PastRuns runs={runs.data} shownId={shownId} onShow={show} />
        )}
      </Card>
    </>
  );
}
