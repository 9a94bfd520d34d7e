/**
 * Changes to many samples at once (bulk actions and the 80/20 rebalance): each asks first when it
 * moves, relabels or trashes samples, and each offers Undo afterwards.
 */
import { useState } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "../../api/client";
import { refresh } from "../../api/queries";
import { counted } from "../ui";
import { useConfirm } from "../ConfirmDialog";
import { useUndoOffer } from "./UndoToast";

export type Category = "training" | "testing" | "anomaly";
type PreviousState = Schemas["PreviousState"];
export type BulkRequest =
  | { action: "relabel"; sample_ids: number[]; label: string }
  | { action: "move"; sample_ids: number[]; category: Category }
  | { action: "enable" | "disable" | "delete" | "restore"; sample_ids: number[] };

/** How the last change is taken back: the samples' earlier states, or trash and restore. */
type UndoBy = { kind: "revert"; states: PreviousState[] } | { kind: "bulk"; request: BulkRequest };
export interface UndoOffer {
  message: string;
  by: UndoBy;
}

/** The question asked before a bulk action, or null when it changes nothing hard to find again. */
function question(request: BulkRequest) {
  const samples = counted(request.sample_ids.length, "sample");
  switch (request.action) {
    case "relabel":
      return { title: `Relabel ${samples} as “${request.label}”?`, body: <p>You can undo it right after.</p>, confirmLabel: `Relabel ${samples}` };
    case "move":
      return { title: `Move ${samples} to ${request.category}?`, body: <p>You can undo it right after.</p>, confirmLabel: `Move ${samples}` };
    case "delete":
      return {
        title: `Move ${samples} to the trash?`,
        body: <p>They stay in the trash for 30 days and can be restored until then.</p>,
        confirmLabel: "Move to the trash",
        danger: true,
      };
    default:
      return null;
  }
}

/** What was done, for the Undo offer. */
function done(request: BulkRequest, changed: number): string {
  const samples = counted(changed, "sample");
  switch (request.action) {
    case "relabel":
      return `Relabelled ${samples} as “${request.label}”.`;
    case "move":
      return `Moved ${samples} to ${request.category}.`;
    case "delete":
      return `Moved ${samples} to the trash.`;
    case "restore":
      return `Restored ${samples} from the trash.`;
    default:
      return `${request.action === "enable" ? "Enabled" : "Disabled"} ${samples}.`;
  }
}

function undoOf(request: BulkRequest, previous: PreviousState[]): UndoBy {
  if (request.action === "delete") return { kind: "bulk", request: { action: "restore", sample_ids: request.sample_ids } };
  if (request.action === "restore") return { kind: "bulk", request: { action: "delete", sample_ids: request.sample_ids } };
  return { kind: "revert", states: previous };
}

function rebalanceQuestion(plan: Schemas["RebalancePlan"]): string {
  const parts = [];
  if (plan.to_training) parts.push(`${counted(plan.to_training, "sample")} to training`);
  if (plan.to_testing) parts.push(`${parts.length ? plan.to_testing : counted(plan.to_testing, "sample")} to testing`);
  return `Move ${parts.join(" and ")}?`;
}

export function useDatasetChanges(projectId: number, onChanged: () => void) {
  const queryClient = useQueryClient();
  const confirm = useConfirm();
  const path = { project_id: projectId };
  const [undo, setUndo] = useUndoOffer<UndoOffer>();
  const [note, setNote] = useState<string | null>(null);
  const reload = () => void refresh(queryClient, ["project", projectId]);

  const bulk = useMutation({
    mutationFn: (body: BulkRequest) => unwrap(api.POST("/api/projects/{project_id}/samples/bulk", { params: { path }, body })),
    onSuccess: (result, request) => {
      setUndo(result.changed ? { message: done(request, result.changed), by: undoOf(request, result.previous ?? []) } : null);
      setNote(result.changed ? null : "Nothing changed: the samples already were that way.");
      onChanged();
      reload();
    },
  });
  const rebalance = useMutation({
    mutationFn: async () => {
      const plan = await unwrap(api.GET("/api/projects/{project_id}/samples/rebalance", { params: { path } }));
      if (!plan.to_training && !plan.to_testing) return null;
      const yes = await confirm({
        title: rebalanceQuestion(plan),
        body: <p>Every label is split 80/20 between training and testing ({counted(plan.samples, "sample")} in all). You can undo it right after.</p>,
        confirmLabel: "Rebalance",
      });
      return yes ? unwrap(api.POST("/api/projects/{project_id}/samples/rebalance", { params: { path } })) : undefined;
    },
    onSuccess: (result) => {
      if (result === undefined) return;
      if (result === null) {
        setNote("Every label is already split 80/20: nothing to move.");
        return;
      }
      setNote(null);
      setUndo({ message: `Moved ${counted(result.moved, "sample")} between training and testing.`, by: { kind: "revert", states: result.previous ?? [] } });
      reload();
    },
  });
  const revert = useMutation({
    mutationFn: (by: UndoBy) =>
      by.kind === "revert"
        ? unwrap(api.POST("/api/projects/{project_id}/samples/revert", { params: { path }, body: { samples: by.states } }))
        : unwrap(api.POST("/api/projects/{project_id}/samples/bulk", { params: { path }, body: by.request })),
    onSuccess: () => {
      setUndo(null);
      setNote("Undone.");
      reload();
    },
    // A refused undo (the samples changed since) keeps its message on screen; the offer goes.
    onError: () => setUndo(null),
  });

  /** Asks first when the action needs it, then runs it. */
  async function run(request: BulkRequest) {
    const ask = question(request);
    if (ask && !(await confirm(ask))) return;
    setNote(null);
    rebalance.reset();
    revert.reset();
    bulk.mutate(request);
  }

  return {
    run,
    rebalance: () => {
      bulk.reset();
      revert.reset();
      rebalance.mutate();
    },
    rebalancing: rebalance.isPending,
    undo,
    undoNow: () => {
      if (!undo) return;
      bulk.reset();
      rebalance.reset();
      revert.mutate(undo.by);
    },
    dismissUndo: () => setUndo(null),
    note,
    error: bulk.error || rebalance.error || revert.error,
    pending: bulk.isPending || revert.isPending,
  };
}
