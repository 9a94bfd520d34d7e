/** The processing or learning blocks of an impulse being edited: one or several, each with its schema form. */
import type { ReactNode } from "react";
import type { Schemas } from "../api/client";
import { SECTION_NAMES } from "../lib/impulseDiff";
import { addBlock, MAX_BLOCKS, removeBlock, suggestBlock, updateBlock, type Draft, type DraftBlock, type Section } from "../lib/impulseDraft";
import type { DraftSchemas } from "../lib/impulseProblems";
import { defaultsFromSchema, type JsonSchema } from "../lib/schemaForm";
import { SchemaForm } from "./SchemaForm";
import { Card } from "./ui";

type Block = Schemas["BlockInfo"];

export function blockSchema(blocks: Block[] | undefined, name: string): JsonSchema {
  return (blocks?.find((b) => b.name === name)?.parameters_schema ?? {}) as JsonSchema;
}

/** The schemas of an impulse's input and blocks, from the block catalog. */
export function draftSchemas(catalog: Schemas["BlocksOut"]): DraftSchemas {
  return { input: catalog.input.parameters_schema as JsonSchema, block: (section, name) => blockSchema(catalog[section], name) };
}

/** A block with the defaults of its schema. */
export function blockWithDefaults(blocks: Block[], name: string) {
  return { block: name, params: defaultsFromSchema(blockSchema(blocks, name)) };
}

function BlockEditor({
  section,
  index,
  block,
  catalog,
  errors,
  disabled,
  onChange,
}: {
  section: Section;
  index: number;
  block: DraftBlock;
  catalog: Block[];
  errors: Record<string, string>;
  disabled: boolean;
  onChange: (block: DraftBlock) => void;
}) {
  const info = catalog.find((b) => b.name === block.block);
  const selectId = `${section}-block-${block.id}`;
  const { block: blockError, ...paramErrors } = errors;
  return (
    <>
      <div className="field block-select">
        <label htmlFor={selectId}>Block</label>
        <select
          id={selectId}
          name={`${section}-block`}
          disabled={disabled}
          value={block.block}
          aria-invalid={Boolean(blockError)}
          aria-label={`${SECTION_NAMES[section]} ${index + 1}`}
          onChange={(e) => onChange({ id: block.id, ...blockWithDefaults(catalog, e.target.value) })}
        >
          {!info && <option value={block.block}>{block.block}</option>}
          {catalog.map((b) => (
            <option key={b.name} value={b.name}>
              {b.title}
            </option>
          ))}
        </select>
        {blockError && (
          <span className="field-error" role="alert">
            {blockError}
          </span>
        )}
      </div>
      {info && <p className="muted small">{info.description}</p>}
      <SchemaForm
        schema={blockSchema(catalog, block.block)}
        values={block.params}
        serverErrors={paramErrors}
        disabled={disabled}
        onChange={(params) => onChange({ ...block, params })}
      />
    </>
  );
}

/**
 * The card of one list of blocks. With one block it reads as a single block (as most impulses
 * have); with several, each block gets a numbered box with a remove button.
 */
export function ImpulseBlocksCard({
  section,
  step,
  draft,
  catalog,
  errors,
  editor,
  onChange,
  note,
}: {
  section: Section;
  step: number;
  draft: Draft;
  catalog: Block[];
  /** Server errors by block id, then field. */
  errors: Record<number, Record<string, string>>;
  editor: boolean;
  onChange: (draft: Draft) => void;
  /** How this list connects to the blocks around it, shown above the blocks. */
  note?: ReactNode;
}) {
  const blocks = draft[section];
  const name = SECTION_NAMES[section];
  const several = blocks.length > 1;
  const suggestion = suggestBlock(
    section,
    blocks.map((b) => b.block),
    catalog.map((b) => b.name),
  );
  const canAdd = editor && suggestion !== null && blocks.length < MAX_BLOCKS[section];
  const add = canAdd && (
    <button type="button" className="btn btn-small" onClick={() => onChange(addBlock(draft, section, blockWithDefaults(catalog, suggestion)))}>
      + Add a {name.toLowerCase()}
    </button>
  );
  return (
    <Card title={`${step} · ${name}${several ? "s" : ""}`} actions={add}>
      {note}
      {blocks.map((block, index) => (
        <section
          key={block.id}
          className={several ? "block-item" : "block-item block-item-single"}
          aria-label={`${name} ${index + 1}`}
          data-block={`${section}-${index}`}
        >
          {several && (
            <header className="block-item-header">
              <h3>
                {name} {index + 1}
              </h3>
              {editor && (
                <button
                  type="button"
                  className="btn btn-small btn-danger"
                  aria-label={`Remove ${name.toLowerCase()} ${index + 1}`}
                  onClick={() => onChange(removeBlock(draft, section, block.id))}
                >
                  Remove
                </button>
              )}
            </header>
          )}
          <BlockEditor
            section={section}
            index={index}
            block={block}
            catalog={catalog}
            errors={errors[block.id] ?? {}}
            disabled={!editor}
            onChange={(next) => onChange(updateBlock(draft, section, block.id, next))}
          />
        </section>
      ))}
    </Card>
  );
}
