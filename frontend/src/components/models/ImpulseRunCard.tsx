/** Puts an uploaded model into one of the project's impulses: the impulse's DSP feeds it, the test set scores it,
 *  and the run it makes deploys, tests on a device and classifies live like a run the studio trained. */
import { useState } from "react";
import { Link } from "react-router-dom";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../../api/client";
import { useJobEvents } from "../../api/jobs";
import { runModelInImpulse, type UploadedModel } from "../../api/models";
import { refresh } from "../../api/queries";
import { formatShape, parseLabels } from "../../lib/models";
import { JobProgress } from "../JobProgress";
import { Card, ErrorNote, Loading } from "../ui";
import { useImpulses } from "../../api/impulses";

function accuracy(value: number | undefined): string {
  return value === undefined ? "—" : `${(value * 100).toFixed(1)} %`;
}

export function ImpulseRunCard({ projectId, model, editor }: { projectId: number; model: UploadedModel; editor: boolean }) {
  const queryClient = useQueryClient();
  const impulses = useImpulses(projectId);
  const [chosen, setChosen] = useState<number | null>(null);
  const [labels, setLabels] = useState("");
  const [runId, setRunId] = useState<number | null>(null);
  const impulseId = chosen ?? impulses.data?.[0]?.id ?? null;
  const start = useMutation({
    mutationFn: () => runModelInImpulse(projectId, model.id, { impulse_id: impulseId ?? 0, labels: parseLabels(labels) }),
    onSuccess: (run) => {
      setRunId(run.id);
      void refresh(queryClient, ["project", projectId, "training-runs"]);
    },
  });
  const job = useJobEvents(projectId, start.data?.job_id ?? null);
  const finished = job?.status === "succeeded";
  // Read once the job has succeeded: the run then holds the model's scores.
  const run = useQuery({
    queryKey: ["project", projectId, "training-run", runId, finished],
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/training-runs/{run_id}", { params: { path: { project_id: projectId, run_id: runId ?? 0 } } })),
    enabled: runId !== null && finished,
  });
  const evaluation = (run.data?.metrics as { evaluation?: { int8?: { test?: { accuracy?: number } }; float32?: { test?: { accuracy?: number } } } } | undefined)
    ?.evaluation;
  const input = model.info?.inputs[0];
  return (
    <Card title="Use in an impulse">
      <p className="muted small">
        The impulse's windows and DSP feed the model{input ? ` (its input: ${formatShape(input.shape)})` : ""}, the project's test samples score it, and the run
        it makes deploys as a library or firmware and is tested on a device like a run trained here.
      </p>
      {impulses.data?.length === 0 && <p className="muted">The project has no impulse yet: design one on the Impulse page first.</p>}
      {editor && !!impulses.data?.length && (
        <form
          className="inline-form"
          aria-label="Use in an impulse"
          onSubmit={(e) => {
            e.preventDefault();
            start.mutate();
          }}
        >
          <label className="field">
            <span>Impulse</span>
            <select
              name="impulse"
              value={impulseId ?? ""}
              onChange={(e) => {
                setChosen(Number(e.target.value));
                start.reset();
              }}
            >
              {impulses.data.map((i) => (
                <option key={i.id} value={i.id}>
                  {i.name} (v{i.version})
                </option>
              ))}
            </select>
          </label>
          <label className="field">
            <span>Labels in output order (optional)</span>
            <input
              name="labels"
              type="text"
              placeholder="the training labels, sorted"
              value={labels}
              onChange={(e) => {
                setLabels(e.target.value);
                start.reset();
              }}
            />
          </label>
          <button className="btn btn-primary" type="submit" disabled={start.isPending || impulseId === null}>
            {start.isPending ? "Starting…" : "Run in impulse"}
          </button>
        </form>
      )}
      <ErrorNote error={start.error} />
      {start.data && <JobProgress job={job} projectId={projectId} title="Scoring on the project's windows" />}
      {/* The scores are the run's: until it is read, "—" would look like a missing score. */}
      {finished && run.isPending && <Loading what="the run's scores" />}
      <ErrorNote error={run.error} />
      {finished && runId !== null && run.data && (
        <p data-testid="model-run-result">
          Run #{runId}: int8 test accuracy {accuracy(evaluation?.int8?.test?.accuracy)}
          {evaluation?.float32 ? ` (float32 ${accuracy(evaluation.float32.test?.accuracy)})` : ""}. <Link to={`../training?run=${runId}`}>See its results</Link>{" "}
          · <Link to={`../deployment?run=${runId}`}>Deploy it</Link>
        </p>
      )}
    </Card>
  );
}
