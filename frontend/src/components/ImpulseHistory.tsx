/** An impulse's saved versions: when and by whom, the runs that used each, what changed, and restoring one. */
import { useMemo, useState } from "react";
import { Link } from "react-router-dom";
import { useMutation, useQuery } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "../api/client";
import { describeChange, diffSpecs, summarizeSpec, type ChangeLine, type DiffLabels } from "../lib/impulseDiff";
import { asSpec, sameValue, type Section } from "../lib/impulseDraft";
import { previousVersion, runLearnIndex, runsByVersion } from "../lib/impulseHistory";
import { fieldsFromSchema, type JsonSchema } from "../lib/schemaForm";
import { Card, counted, ErrorNote, formatDate, Loading } from "./ui";
import { useConfirm } from "./ConfirmDialog";

type Impulse = Schemas["ImpulseOut"];
type Version = Schemas["ImpulseVersionOut"];
type Run = Schemas["TrainingRunOut"];
type BlocksOut = Schemas["BlocksOut"];

/** Versions listed before "show all". */
const SHOWN = 8;

/** Block titles and parameter labels from the blocks' schemas. */
export function labelsFrom(blocks: BlocksOut | undefined): DiffLabels {
  const find = (section: Section, block: string) => blocks?.[section].find((b) => b.name === block);
  return {
    blockTitle: (section, block) => find(section, block)?.title ?? block,
    paramLabel: (section, block, property) => {
      const schema = find(section, block)?.parameters_schema as JsonSchema | undefined;
      return (schema && fieldsFromSchema(schema).find((f) => f.name === property)?.label) ?? property;
    },
  };
}

function ChangeList({ lines, label }: { lines: ChangeLine[]; label: string }) {
  return (
    <ul className="diff-list" aria-label={label}>
      {lines.map((line, i) => (
        <li key={i}>
          <span className="diff-where">{line.where}</span> <span className="diff-what">{line.what}</span>
          {line.from !== undefined && (
            <>
              {": "}
              <span className="diff-from">{line.from}</span> → <span className="diff-to">{line.to}</span>
            </>
          )}
        </li>
      ))}
    </ul>
  );
}

function VersionChanges({ version, before, labels }: { version: Version; before: Version | null; labels: DiffLabels }) {
  if (!before) {
    return (
      <div className="version-diff">
        <h3>Version {version.version}: the first version</h3>
        <ChangeList lines={summarizeSpec(asSpec(version.spec), labels)} label={`Version ${version.version}`} />
      </div>
    );
  }
  const changes = diffSpecs(asSpec(before.spec), asSpec(version.spec));
  return (
    <div className="version-diff">
      <h3>
        Changes in version {version.version} <span className="muted">(from version {before.version})</span>
      </h3>
      {changes.length === 0 ? (
        <p className="muted small">The same design as version {before.version} (only the name may have changed).</p>
      ) : (
        <ChangeList lines={changes.map((c) => describeChange(c, labels))} label={`Changes in version ${version.version}`} />
      )}
    </div>
  );
}

function RunLinks({ runs, projectId, impulseId, severalLearn }: { runs: Run[]; projectId: number; impulseId: number; severalLearn: boolean }) {
  if (!runs.length) return <span className="muted">—</span>;
  return (
    <span className="version-runs">
      {runs.map((run) => (
        <Link key={run.id} to={`/projects/${projectId}/training?impulse=${impulseId}`} title={`Training run #${run.id}: ${run.status}`}>
          #{run.id}
          <span className="muted small">
            {" "}
            ({severalLearn ? `learning block ${runLearnIndex(run) + 1}, ` : ""}
            {run.status})
          </span>
        </Link>
      ))}
    </span>
  );
}

export function ImpulseHistory({
  projectId,
  impulse,
  blocks,
  editor,
  dirty,
  onRestored,
}: {
  projectId: number;
  impulse: Impulse;
  blocks: BlocksOut | undefined;
  editor: boolean;
  /** The editor holds changes that a restore would replace. */
  dirty: boolean;
  onRestored: (saved: Impulse, from: number) => void;
}) {
  const versions = useQuery({
    queryKey: ["project", projectId, "impulses", impulse.id, "versions", impulse.version],
    queryFn: () =>
      unwrap(api.GET("/api/projects/{project_id}/impulses/{impulse_id}/versions", { params: { path: { project_id: projectId, impulse_id: impulse.id } } })),
  });
  // The same list the training page shows; runs are matched to versions here.
  const runs = useQuery({
    queryKey: ["project", projectId, "training-runs"],
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/training-runs", { params: { path: { project_id: projectId } } })),
  });
  const [selected, setSelected] = useState<number | null>(null);
  const [showAll, setShowAll] = useState(false);
  const [restored, setRestored] = useState<{ from: number; to: number } | null>(null);
  const labels = useMemo(() => labelsFrom(blocks), [blocks]);
  const confirm = useConfirm();
  const restore = useMutation({
    mutationFn: (version: Version) =>
      unwrap(
        api.PUT("/api/projects/{project_id}/impulses/{impulse_id}", {
          params: { path: { project_id: projectId, impulse_id: impulse.id } },
          body: { spec: asSpec(version.spec), base_version: impulse.version },
        }),
      ),
    onSuccess: (saved, version) => {
      setRestored({ from: version.version, to: saved.version });
      setSelected(saved.version);
      onRestored(saved, version.version);
    },
  });

  const list = useMemo(() => [...(versions.data ?? [])].sort((a, b) => b.version - a.version), [versions.data]);
  const runsOf = useMemo(() => runsByVersion(runs.data ?? [], impulse.id), [runs.data, impulse.id]);
  const currentSpec = useMemo(() => asSpec(impulse.spec), [impulse.spec]);
  const askRestore = async (version: Version) => {
    const changes = diffSpecs(currentSpec, asSpec(version.spec)).length;
    const yes = await confirm({
      title: `Restore version ${version.version}?`,
      body: (
        <>
          <p>
            {counted(changes, "change")} to the current design (version {impulse.version}): version {version.version}'s design is saved as version{" "}
            {impulse.version + 1}. Version {impulse.version} stays in the history and can be restored again.
          </p>
          {dirty && <p>The unsaved changes in the editor above are replaced.</p>}
        </>
      ),
      confirmLabel: `Restore version ${version.version}`,
    });
    if (yes) restore.mutate(version);
  };
  const chosen = list.find((v) => v.version === (selected ?? impulse.version)) ?? list[0] ?? null;
  const shown = showAll ? list : list.slice(0, SHOWN);
  if (chosen && !shown.includes(chosen)) shown.push(chosen);

  return (
    <Card title="Version history">
      <p className="muted small">Every save is kept as a version. Restoring one saves it again as the newest version; nothing is lost.</p>
      {versions.isPending && <Loading what="the versions" />}
      <ErrorNote error={versions.error || restore.error} />
      {restored && !restore.isPending && (
        <p className="ok-text small" role="status">
          Restored version {restored.from} as version {restored.to}
        </p>
      )}
      {editor && dirty && list.length > 1 && <p className="muted small">Restoring a version replaces the unsaved changes in the editor above.</p>}
      {list.length > 0 && (
        <div className="table-wrap">
          <table className="table compact versions" aria-label="Versions">
            <thead>
              <tr>
                <th>Version</th>
                <th>Saved</th>
                <th>By</th>
                <th>Training runs</th>
                <th>
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {shown.map((v) => {
                const current = v.version === impulse.version;
                const isChosen = chosen?.version === v.version;
                const sameAsCurrent = !current && sameValue(asSpec(v.spec), currentSpec);
                const severalLearn = asSpec(v.spec).learn.length > 1;
                return (
                  <tr key={v.id} className={isChosen ? "version-chosen" : undefined} data-version={v.version}>
                    <td>
                      <strong>v{v.version}</strong>
                      {current && <span className="badge">current</span>}
                    </td>
                    <td data-label="Saved">{formatDate(v.created_at)}</td>
                    <td data-label="By">{v.created_by ?? <span className="muted">—</span>}</td>
                    <td data-label="Training runs">
                      <RunLinks runs={runsOf.get(v.id) ?? []} projectId={projectId} impulseId={impulse.id} severalLearn={severalLearn} />
                    </td>
                    <td>
                      <div className="row-actions">
                        <button
                          type="button"
                          className="btn btn-small"
                          aria-pressed={isChosen}
                          aria-label={`Changes in version ${v.version}`}
                          onClick={() => setSelected(v.version)}
                        >
                          Changes
                        </button>
                        {editor && !current && !sameAsCurrent && (
                          <button
                            type="button"
                            className="btn btn-small"
                            disabled={restore.isPending}
                            aria-label={`Restore version ${v.version}`}
                            onClick={() => void askRestore(v)}
                          >
                            Restore this version
                          </button>
                        )}
                        {sameAsCurrent && <span className="muted small">same as current</span>}
                      </div>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {list.length > SHOWN && (
        <button type="button" className="link-button small" onClick={() => setShowAll(!showAll)}>
          {showAll ? "Show the newest versions only" : `Show all ${list.length} versions`}
        </button>
      )}
      {chosen && <VersionChanges version={chosen} before={previousVersion(list, chosen)} labels={labels} />}
    </Card>
  );
}
