/** The impulse's input block: a form from its schema (GET /api/blocks) and a whole-sample window drawn from the data. */
import { useQuery } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "../api/client";
import type { InputBlock } from "../lib/impulseDraft";
import { defaultsFromSchema, type JsonSchema } from "../lib/schemaForm";
import { SchemaForm } from "./SchemaForm";
import { Card } from "./ui";

type InputDefaults = Schemas["InputDefaultsOut"];

/** The input block the project's data suggests, with the whole-sample window and sample durations. */
export function useInputDefaults(projectId: number) {
  return useQuery({
    queryKey: ["project", projectId, "impulses", "input-defaults"],
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/impulses/input-defaults", { params: { path: { project_id: projectId } } })),
  });
}

/** The window that takes every sample whole: as long as the longest, one window per sample, shorter ones padded. */
export function wholeSample(input: InputBlock, wholeMs: number): InputBlock {
  return { ...input, window_ms: wholeMs, stride_ms: wholeMs, zero_pad: true };
}

const ms = (value: number | null | undefined) => (value == null ? "—" : `${Math.round(value)} ms`);

export function InputBlockCard({
  block,
  input,
  defaults,
  errors,
  editor,
  onChange,
}: {
  block: Schemas["BlockInfo"];
  input: InputBlock;
  defaults: InputDefaults | undefined;
  /** Server errors by input setting. */
  errors: Record<string, string>;
  editor: boolean;
  onChange: (input: InputBlock) => void;
}) {
  const schema = block.parameters_schema as JsonSchema;
  const schemaDefaults = defaultsFromSchema(schema);
  const whole = defaults?.whole_sample_ms ?? null;
  const isWhole = whole !== null && input.window_ms === whole && input.stride_ms === whole;
  // A cleared field shows its default, so the draft takes that default too.
  const update = (values: Record<string, unknown>) =>
    onChange({ ...input, ...Object.fromEntries(Object.entries(values).map(([k, v]) => [k, v === undefined ? schemaDefaults[k] : v])) });
  const button = editor && whole !== null && (
    <button type="button" className="btn btn-small" aria-pressed={isWhole} disabled={isWhole} onClick={() => onChange(wholeSample(input, whole))}>
      Whole sample
    </button>
  );
  return (
    <Card title={`1 · ${block.title}`} actions={button}>
      <SchemaForm schema={schema} values={{ ...input }} serverErrors={errors} disabled={!editor} onChange={update} />
      {defaults && defaults.samples > 0 && (
        <p className="muted small">
          Samples last {ms(defaults.shortest_ms)} to {ms(defaults.longest_ms)} (median {ms(defaults.median_ms)}). A whole-sample window is as long as the
          longest sample ({ms(whole)}): every sample gives one window, shorter ones padded as set above.
        </p>
      )}
    </Card>
  );
}
