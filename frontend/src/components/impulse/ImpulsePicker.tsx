/** Choosing one of the project's impulses: by `?impulse=` in the address, or from a drop-down. */
import { useSearchParams } from "react-router-dom";
import type { Schemas } from "../../api/client";

type Impulse = Schemas["ImpulseOut"];

/** The impulse chosen with ?impulse=<id> (default: the first), shared by the impulse and training pages. */
export function useChosenImpulse(impulses: Impulse[] | undefined): { impulse: Impulse | null; creating: boolean; choose: (id: number | "new") => void } {
  const [params, setParams] = useSearchParams();
  const wanted = params.get("impulse");
  const choose = (id: number | "new") => setParams(id === "new" ? { impulse: "new" } : { impulse: String(id) }, { replace: true });
  if (wanted === "new") return { impulse: null, creating: true, choose };
  const impulse = impulses?.find((i) => String(i.id) === wanted) ?? impulses?.[0] ?? null;
  return { impulse, creating: false, choose };
}

/** A drop-down to switch between the project's impulses. */
export function ImpulsePicker({
  impulses,
  current,
  onChoose,
  allowNew,
}: {
  impulses: Impulse[];
  current: Impulse | null;
  onChoose: (id: number | "new") => void;
  allowNew: boolean;
}) {
  if (impulses.length < 2 && !allowNew) return null;
  return (
    <label className="field impulse-picker">
      <span>Impulse</span>
      <select name="impulse" value={current ? String(current.id) : "new"} onChange={(e) => onChoose(e.target.value === "new" ? "new" : Number(e.target.value))}>
        {impulses.map((i) => (
          <option key={i.id} value={i.id}>
            {i.name} (v{i.version})
          </option>
        ))}
        {allowNew && <option value="new">+ New impulse</option>}
      </select>
    </label>
  );
}
