/** A note under the learning blocks on what they take as input, when there are several blocks. */
import type { Schemas } from "../../api/client";
import { asSpec, sameValue, specFromDraft, type Draft } from "../../lib/impulseDraft";

type Impulse = Schemas["ImpulseOut"];

/** How the learning blocks get their input, said only when there is more than one block to connect. */
export function LearnNote({ draft, impulse }: { draft: Draft; impulse: Impulse | null }) {
  if (draft.dsp.length < 2 && draft.learn.length < 2) return null;
  // The size is known for the saved design; an edited one is measured when it is saved.
  const saved =
    impulse && sameValue(draft.input, asSpec(impulse.spec).input) && sameValue(specFromDraft(draft).dsp, asSpec(impulse.spec).dsp) ? impulse.shapes : null;
  const input = draft.dsp.length > 1 ? `the features of all ${draft.dsp.length} processing blocks, joined` : "the features of the processing block";
  return (
    <p className="muted small">
      Every learning block takes {input}
      {saved ? ` (${saved.learn_input_shape.join(" × ")} values)` : ""}.{draft.learn.length > 1 && " Each one is trained in a run of its own."}
    </p>
  );
}
