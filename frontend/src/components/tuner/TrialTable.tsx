/** A run's trials side by side: what each searched, how accurate it is, what it costs on the board. */
import { useState } from "react";
import type { TunerBudgets, TunerTrial } from "../../api/tuner";
import { formatKb, formatMs, keyParams, percent, sortTrials, trialStatusDetail, trialWindow, type Section, type TrialSortKey } from "../../lib/tuner";
import { ShowButton } from "../ui";

function Block({ trial, section }: { trial: TunerTrial; section: Section }) {
  const { block, params } = keyParams(trial, section);
  return (
    <div data-section={section}>
      <strong>{block ?? "—"}</strong>
      {params.length > 0 && <span className="muted small"> {params.join(", ")}</span>}
    </div>
  );
}

/** What a trial tried: its window, its processing block and its learning block with the searched parameters. */
function Candidate({ trial }: { trial: TunerTrial }) {
  return (
    <td className="trial-candidate">
      <div className="small">
        window {trialWindow(trial)}
        {trial.starting_point && (
          <span className="badge" title="the impulse this run started from, trained as every trial is">
            your impulse
          </span>
        )}
      </div>
      <Block trial={trial} section="dsp" />
      <Block trial={trial} section="learn" />
    </td>
  );
}

/** A figure with its budget: red when over. */
function Figure({ value, budget, text }: { value: number | null; budget: number; text: string }) {
  return <td className={value !== null && value > budget ? "error-text num" : "num"}>{text}</td>;
}

const Check = ({ value, yes, no }: { value: boolean | null; yes: string; no: string }) =>
  value === null ? (
    <td className="muted">—</td>
  ) : (
    <td className={value ? "ok-text" : "error-text"} aria-label={value ? yes : no} title={value ? yes : no}>
      {value ? "✓" : "✗"}
    </td>
  );

export function TrialTable({
  trials,
  budgets,
  chosenId,
  onChoose,
  prunedAt,
}: {
  trials: TunerTrial[];
  budgets: TunerBudgets;
  chosenId: number | null;
  onChoose: (trial: TunerTrial) => void;
  prunedAt: Map<number, number>;
}) {
  const [sort, setSort] = useState<{ key: TrialSortKey; descending: boolean }>({ key: "number", descending: false });
  const sorted = sortTrials(trials, sort.key, sort.descending);
  const header = (key: TrialSortKey, label: string, firstDescending: boolean) => {
    const active = sort.key === key;
    return (
      <th aria-sort={active ? (sort.descending ? "descending" : "ascending") : "none"}>
        <button type="button" className="sort-button" onClick={() => setSort({ key, descending: active ? !sort.descending : firstDescending })}>
          {label} {active ? (sort.descending ? "▼" : "▲") : ""}
        </button>
      </th>
    );
  };
  if (trials.length === 0)
    return (
      <p className="muted" role="status">
        The first trials are being asked for…
      </p>
    );
  return (
    <div className="table-wrap tuner-table-wrap">
      <table className="table compact trial-table" aria-label="Trials">
        <thead>
          <tr>
            {header("number", "Trial", false)}
            <th>Status</th>
            <th>Window · processing · learning</th>
            <th>float32 val.</th>
            {header("accuracy", "int8 val.", true)}
            <th>int8 test</th>
            {header("ram", "RAM", false)}
            <th>Flash</th>
            {header("latency", "Latency", false)}
            <th>Fits</th>
            <th>Pareto</th>
            <th aria-label="Details" />
          </tr>
        </thead>
        <tbody>
          {sorted.map((t) => (
            <tr
              key={t.id}
              data-trial={t.number}
              data-status={t.status}
              className={t.best ? "trial-best" : undefined}
              aria-current={chosenId === t.id || undefined}
            >
              <td>
                {t.number}
                {t.best && <span className="badge badge-succeeded">best</span>}
              </td>
              <td className="trial-status">
                <span className={`badge badge-${t.status}`}>{t.status.replace(/_/g, " ")}</span>
                {trialStatusDetail(t, prunedAt.get(t.id)) && <span className="small muted"> {trialStatusDetail(t, prunedAt.get(t.id))}</span>}
              </td>
              <Candidate trial={t} />
              <td className="num">{percent(t.accuracy.float32_validation)}</td>
              <td className="num">
                <strong>{percent(t.accuracy.int8_validation)}</strong>
              </td>
              <td className="num">{percent(t.accuracy.int8_test)}</td>
              <Figure value={t.ram_bytes} budget={budgets.ram_bytes} text={formatKb(t.ram_bytes)} />
              <Figure value={t.flash_bytes} budget={budgets.flash_bytes} text={formatKb(t.flash_bytes)} />
              <Figure value={t.latency_ms} budget={budgets.latency_ms} text={formatMs(t.latency_ms)} />
              <Check value={t.fits} yes="fits every budget" no="over a budget" />
              {t.status === "succeeded" && t.ram_bytes !== null ? (
                <Check value={t.pareto} yes="on the Pareto front" no="dominated by another trial" />
              ) : (
                <td className="muted">—</td>
              )}
              <td>{t.status === "succeeded" && <ShowButton shown={chosenId === t.id} onShow={() => onChoose(t)} />}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
