/** Data acquisition: upload, label counts and split, the filtered sample list and bulk actions. */
import { useEffect, useState } from "react";
import { Link, useOutletContext } from "react-router-dom";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { api, unwrap, type Project } from "../api/client";
import { atLeast, useSummary } from "../api/queries";
import { Card, EmptyState, ErrorNote, formatDate, formatDuration, Loading } from "../components/ui";
import { SplitBar } from "../components/SplitBar";
import { Uploader } from "../components/Uploader";
import { DatasetTools } from "../components/DatasetTools";
import { BulkBar } from "../components/data/BulkBar";
import { UndoToast } from "../components/data/UndoToast";
import { useDatasetChanges, type Category } from "../components/data/useDatasetChanges";

const PAGE = 50;

export function DataPage() {
  const project = useOutletContext<Project>();
  const editor = atLeast(project.role, "editor");
  const summary = useSummary(project.id);
  const [label, setLabel] = useState("");
  const [category, setCategory] = useState<"" | Category>("");
  const [enabled, setEnabled] = useState<"" | "true" | "false">("");
  const [search, setSearch] = useState("");
  const [trashed, setTrashed] = useState(false);
  const [debounced, setDebounced] = useState("");
  const [offset, setOffset] = useState(0);
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const changes = useDatasetChanges(project.id, () => setSelected(new Set()));

  useEffect(() => {
    const timer = setTimeout(() => setDebounced(search), 250);
    return () => clearTimeout(timer);
  }, [search]);
  useEffect(() => {
    setOffset(0);
    setSelected(new Set());
  }, [label, category, enabled, debounced, trashed]);

  const query = {
    label: label && label !== "\u0000" ? label : undefined,
    unlabelled: label === "\u0000" ? true : undefined,
    category: category || undefined,
    enabled: enabled === "" ? undefined : enabled === "true",
    search: debounced || undefined,
    trashed: trashed || undefined,
    limit: PAGE,
    offset,
  };
  const samples = useQuery({
    queryKey: ["project", project.id, "samples", query],
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/samples", { params: { path: { project_id: project.id }, query } })),
    placeholderData: keepPreviousData,
  });

  const cats = summary.data?.categories ?? {};
  const items = samples.data?.items ?? [];
  const allSelected = items.length > 0 && items.every((s) => selected.has(s.id));
  const toggle = (id: number) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  };
  const ids = [...selected];
  const total = samples.data?.total ?? 0;
  const filtered = Boolean(label || category || enabled || debounced || trashed);

  return (
    <>
      <header className="page-header">
        <h1>Data acquisition</h1>
        {editor && (
          <Link className="btn" to={`/projects/${project.id}/devices`}>
            Record from a board
          </Link>
        )}
      </header>
      <div className="grid-2">
        {editor && (
          <Card title="Upload data">
            <Uploader projectId={project.id} />
          </Card>
        )}
        <Card
          title="Dataset"
          actions={
            editor && (
              <button className="btn btn-small" onClick={changes.rebalance} disabled={changes.rebalancing}>
                Rebalance 80/20
              </button>
            )
          }
        >
          <SplitBar training={cats["training"]?.count ?? 0} testing={cats["testing"]?.count ?? 0} />
          {summary.data && summary.data.labels.length > 0 ? (
            <div className="table-wrap">
              <table className="table compact">
                <thead>
                  <tr>
                    <th>Label</th>
                    <th>Training</th>
                    <th>Testing</th>
                    <th>Anomaly</th>
                  </tr>
                </thead>
                <tbody>
                  {summary.data.labels.map((l) => (
                    <tr key={l}>
                      <td>
                        <button className="link-button" onClick={() => setLabel(l)}>
                          {l}
                        </button>
                      </td>
                      <td>{cats["training"]?.labels[l]?.count ?? 0}</td>
                      <td>{cats["testing"]?.labels[l]?.count ?? 0}</td>
                      <td>{cats["anomaly"]?.labels[l]?.count ?? 0}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : summary.isPending ? (
            <Loading what="the labels" />
          ) : (
            !summary.isError && <p className="muted">No labels yet.</p>
          )}
          <ErrorNote error={summary.error} />
          <p className="muted small">
            {formatDuration((cats["training"]?.duration_ms ?? 0) + (cats["testing"]?.duration_ms ?? 0))} of data
            {summary.data?.disabled ? ` · ${summary.data.disabled} disabled` : ""}
            {summary.data?.trashed ? ` · ${summary.data.trashed} in the trash` : ""}
          </p>
        </Card>
      </div>

      <Card title={`Samples (${total})`}>
        <div className="filters" role="search">
          <label className="field">
            <span>Search</span>
            <input type="search" name="sample-search" value={search} placeholder="name or file name" onChange={(e) => setSearch(e.target.value)} />
          </label>
          <label className="field">
            <span>Label</span>
            <select name="filter-label" value={label} onChange={(e) => setLabel(e.target.value)}>
              <option value="">All labels</option>
              <option value={"\u0000"}>(unlabelled)</option>
              {summary.data?.labels.map((l) => (
                <option key={l} value={l}>
                  {l}
                </option>
              ))}
            </select>
          </label>
          <label className="field">
            <span>Category</span>
            <select name="filter-category" value={category} onChange={(e) => setCategory(e.target.value as "" | Category)}>
              <option value="">All</option>
              <option value="training">Training</option>
              <option value="testing">Testing</option>
              <option value="anomaly">Anomaly</option>
            </select>
          </label>
          <label className="field">
            <span>Enabled</span>
            <select name="filter-enabled" value={enabled} onChange={(e) => setEnabled(e.target.value as "" | "true" | "false")}>
              <option value="">All</option>
              <option value="true">Enabled</option>
              <option value="false">Disabled</option>
            </select>
          </label>
          <label className="field checkbox-field trash-toggle">
            <input type="checkbox" name="filter-trash" checked={trashed} onChange={(e) => setTrashed(e.target.checked)} />
            <span>Show the trash</span>
          </label>
        </div>

        {editor && selected.size > 0 && <BulkBar ids={ids} trashed={trashed} disabled={changes.pending} onAction={(request) => void changes.run(request)} />}
        <ErrorNote error={changes.error || samples.error} />
        {changes.note && (
          <p className="muted small" role="status">
            {changes.note}
          </p>
        )}
        {samples.isPending && <Loading what="samples" />}
        {samples.data && total === 0 && (
          <EmptyState title={filtered ? "No sample matches these filters" : "No samples yet"}>
            <p>
              {filtered
                ? "Clear a filter to see more."
                : editor
                  ? "Drop files in the upload box above, or record from a board on the Devices page."
                  : "When an editor uploads or records samples, they show here."}
            </p>
          </EmptyState>
        )}
        {items.length > 0 && (
          <div className="table-wrap">
            <table className="table samples-table">
              <thead>
                <tr>
                  {editor && (
                    <th>
                      <input
                        type="checkbox"
                        aria-label="Select all on this page"
                        checked={allSelected}
                        onChange={() => setSelected(allSelected ? new Set() : new Set(items.map((s) => s.id)))}
                      />
                    </th>
                  )}
                  <th>Name</th>
                  <th>Label</th>
                  <th>Category</th>
                  <th>Length</th>
                  <th>Rate</th>
                  <th>Added</th>
                </tr>
              </thead>
              <tbody>
                {items.map((s) => (
                  <tr key={s.id} className={s.enabled ? "" : "row-disabled"} data-sample-id={s.id}>
                    {editor && (
                      <td>
                        <input type="checkbox" aria-label={`Select ${s.name}`} checked={selected.has(s.id)} onChange={() => toggle(s.id)} />
                      </td>
                    )}
                    <td>
                      <Link to={`/projects/${project.id}/data/${s.id}`}>{s.name}</Link>
                      {!s.enabled && <span className="badge">disabled</span>}
                      {s.signature_verified && (
                        <span className="badge badge-succeeded" title="HMAC signature verified">
                          signed
                        </span>
                      )}
                    </td>
                    <td>{s.label ?? <span className="muted">—</span>}</td>
                    <td>
                      <span className={`badge badge-${s.category}`}>{s.category}</span>
                    </td>
                    <td>{formatDuration(s.duration_ms)}</td>
                    <td>{s.frequency_hz ? `${Number(s.frequency_hz.toFixed(2))} Hz` : "—"}</td>
                    <td className="muted small">{formatDate(s.created_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {total > PAGE && (
          <div className="pager">
            <button className="btn btn-small" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
              Previous
            </button>
            <span className="muted small">
              {offset + 1}–{Math.min(total, offset + PAGE)} of {total}
            </span>
            <button className="btn btn-small" disabled={offset + PAGE >= total} onClick={() => setOffset(offset + PAGE)}>
              Next
            </button>
          </div>
        )}
      </Card>
      <DatasetTools projectId={project.id} editor={editor} trashed={summary.data?.trashed ?? 0} onPurged={changes.dismissUndo} />
      {changes.undo && <UndoToast message={changes.undo.message} busy={changes.pending} onUndo={changes.undoNow} onDismiss={changes.dismissUndo} />}
    </>
  );
}
