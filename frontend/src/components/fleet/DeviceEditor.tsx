/** Renames and tags one device (editors). */
import { useMutation } from "@tanstack/react-query";
import { useState } from "react";
import { updateDevice, type FleetDevice } from "../../api/fleet";
import { parseTags } from "../../lib/fleet";
import { ErrorNote } from "../ui";

export function DeviceEditor({ projectId, device, onDone }: { projectId: number; device: FleetDevice; onDone: () => void }) {
  const [name, setName] = useState(device.name);
  const [tags, setTags] = useState(device.tags.join(", "));
  const save = useMutation({ mutationFn: () => updateDevice(projectId, device.id, { name: name.trim(), tags: parseTags(tags) }), onSuccess: onDone });
  return (
    <form
      className="inline-form"
      aria-label={`Edit ${device.name}`}
      onSubmit={(e) => {
        e.preventDefault();
        save.mutate();
      }}
    >
      <label className="field">
        <span>Name</span>
        <input name="name" type="text" required maxLength={200} value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <label className="field">
        <span>Tags (separated by commas)</span>
        <input name="tags" type="text" value={tags} onChange={(e) => setTags(e.target.value)} />
      </label>
      <button className="btn btn-primary" type="submit" disabled={save.isPending}>
        Save
      </button>
      <button className="btn" type="button" onClick={onDone}>
        Cancel
      </button>
      <ErrorNote error={save.error} />
    </form>
  );
}
