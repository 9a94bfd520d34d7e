/** What must change in an impulse being edited before it can be saved, said per block in words. */
import { SECTION_NAMES } from "./impulseDiff";
import type { Draft, Section } from "./impulseDraft";
import { formProblems, labelPath, type JsonSchema } from "./schemaForm";

/** The schema of the input block, and of a processing or learning block by name. */
export interface DraftSchemas {
  input: JsonSchema;
  block: (section: Section, name: string) => JsonSchema;
}

export function draftProblems(draft: Draft, schemas: DraftSchemas): string[] {
  const blocks = (section: Section) =>
    draft[section].flatMap((block, i) =>
      formProblems(schemas.block(section, block.block), block.params).map((problem) =>
        draft[section].length > 1 ? `${SECTION_NAMES[section]} ${i + 1}: ${problem}` : problem,
      ),
    );
  return [...(draft.name.trim() ? [] : ["The impulse needs a name"]), ...formProblems(schemas.input, { ...draft.input }), ...blocks("dsp"), ...blocks("learn")];
}

/**
 * A refused save's message said with the block and setting it is about
 * ("Processing block 2 · Filter cut-off: must be …") instead of the path the server names
 * ("dsp[1].params.filter-cutoff: must be …").
 */
export function impulseErrorInWords(draft: Draft, field: string | null, message: string, schemas: DraftSchemas): string {
  if (!field || !message.startsWith(`${field}: `)) return message;
  const rest = message.slice(field.length + 2);
  const block = /^(dsp|learn)\[(\d+)\](?:\.params)?\.(.+)$/.exec(field);
  if (block) {
    const section = block[1] as Section;
    const index = Number(block[2]);
    const where = `${SECTION_NAMES[section]} ${index + 1}`;
    const spec = draft[section][index];
    if (!spec || block[3] === "block") return `${where}: ${rest}`;
    return `${where} · ${labelPath(schemas.block(section, spec.block), block[3])}: ${rest}`;
  }
  const input = /^input\.(.+)$/.exec(field);
  return input ? `${labelPath(schemas.input, input[1])}: ${rest}` : rest;
}
