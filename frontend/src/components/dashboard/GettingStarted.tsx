/** The dashboard's checklist from data to a model running on a board, ticked from the project's real state. */
import { Link } from "react-router-dom";
import { useOverview } from "../../api/queries";
import { gettingStarted } from "../../lib/gettingStarted";
import { Card, ErrorNote, Loading } from "../ui";

export function GettingStarted({ projectId }: { projectId: number }) {
  const overview = useOverview(projectId);
  if (overview.isPending) return <Loading what="the getting-started steps" />;
  if (overview.isError) return <ErrorNote error={overview.error} />;
  const steps = gettingStarted(overview.data);
  const done = steps.filter((s) => s.done).length;
  const next = steps.find((s) => !s.done);
  return (
    <Card
      title="Getting started"
      actions={
        <span className="muted small">
          {done} of {steps.length} done
        </span>
      }
    >
      <ol className="checklist" aria-label="From data to a board">
        {steps.map((step, i) => (
          <li key={step.page} className={step.done ? "step-done" : step === next ? "step-next" : undefined}>
            <Link to={`/projects/${projectId}/${step.page}`} aria-describedby={`step-${step.page}`}>
              <span className="step-mark" aria-hidden="true">
                {step.done ? "✓" : i + 1}
              </span>
              <span className="step-title">{step.title}</span>
              <span className="sr-only">{step.done ? " (done)" : step === next ? " (next step)" : " (to do)"}</span>
              {step === next && (
                <span className="badge step-badge" aria-hidden="true">
                  next
                </span>
              )}
            </Link>
            <span id={`step-${step.page}`} className="step-status muted small">
              {step.status}
            </span>
          </li>
        ))}
      </ol>
    </Card>
  );
}
