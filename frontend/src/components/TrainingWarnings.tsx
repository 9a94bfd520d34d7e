/** What a training run warns about (small data, classes too rare to validate), from its metrics. */

type Metrics = Record<string, unknown> | null | undefined;

/** The warnings (strings under `warnings`) of a run's metrics or its job's result; others ignored. */
export function runWarnings(metrics: Metrics): string[] {
  const warnings = metrics?.warnings;
  return Array.isArray(warnings) ? warnings.filter((w): w is string => typeof w === "string") : [];
}

/**
 * The run's warnings. The run's metrics are written when its job ends; until the page reloads
 * them, the job's own result (`live`, which holds the same list) shows them as soon as it has them.
 */
export function TrainingWarnings({ metrics, live }: { metrics: Metrics; live?: unknown }) {
  const stored = runWarnings(metrics);
  const warnings = stored.length ? stored : runWarnings(live as Metrics);
  if (!warnings.length) return null;
  return (
    <div className="warning-note" role="status" aria-label="Training warnings">
      <strong>{warnings.length === 1 ? "Warning" : `${warnings.length} warnings`}</strong>
      <ul>
        {warnings.map((w) => (
          <li key={w}>{w}</li>
        ))}
      </ul>
    </div>
  );
}
