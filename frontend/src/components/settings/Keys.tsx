/** The project's API keys (shown once when created) and the HMAC key devices sign uploads with. */
import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Project } from "../../api/client";
import { atLeast, refresh } from "../../api/queries";
import { Card, CopyButton, ErrorNote, formatDate } from "../ui";
import { useConfirm } from "../ConfirmDialog";

export function ApiKeys({ project }: { project: Project }) {
  const queryClient = useQueryClient();
  const path = { project_id: project.id };
  const [name, setName] = useState("");
  const [created, setCreated] = useState<string | null>(null);
  const list = useQuery({
    queryKey: ["project", project.id, "api-keys"],
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/api-keys", { params: { path } })),
  });
  const reload = () => void refresh(queryClient, ["project", project.id, "api-keys"]);
  const create = useMutation({
    mutationFn: () => unwrap(api.POST("/api/projects/{project_id}/api-keys", { params: { path }, body: { name } })),
    onSuccess: (key) => {
      setCreated(key.key);
      setName("");
      reload();
    },
  });
  const revoke = useMutation({
    mutationFn: (id: number) => unwrap(api.DELETE("/api/projects/{project_id}/api-keys/{key_id}", { params: { path: { ...path, key_id: id } } })),
    onSuccess: reload,
  });
  return (
    <Card title="API keys">
      <p className="muted">
        Devices and the data forwarder send data with an API key (header <code>x-api-key</code>).
      </p>
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate();
        }}
      >
        <label className="field">
          <span>Key name</span>
          <input name="api-key-name" value={name} required onChange={(e) => setName(e.target.value)} />
        </label>
        <button className="btn btn-primary" type="submit">
          Create API key
        </button>
      </form>
      <ErrorNote error={create.error || revoke.error} />
      {created && (
        <div className="secret" role="status">
          <p>
            <strong>Copy this key now:</strong> it is shown only once.
          </p>
          <code className="secret-value" data-testid="new-api-key">
            {created}
          </code>{" "}
          <CopyButton text={created} />
          <button className="btn btn-small btn-ghost" onClick={() => setCreated(null)}>
            Done
          </button>
          <p className="small">Record from a board on this computer's serial port with the data forwarder:</p>
          <code className="secret-value small">
            tinystudio forward --server {window.location.origin} --api-key {created} --port /dev/ttyACM0 --label idle
          </code>
        </div>
      )}
      <ul className="list">
        {list.data?.length === 0 && <li className="muted">No API keys yet.</li>}
        {list.data?.map((k) => (
          <li key={k.id} className="list-row">
            <div>
              <strong>{k.name}</strong> <code>{k.prefix}…</code>
              <div className="muted small">
                created {formatDate(k.created_at)} · last used {formatDate(k.last_used_at)}
                {k.revoked_at ? " · revoked" : ""}
              </div>
            </div>
            {!k.revoked_at && (
              <button className="btn btn-small btn-danger" onClick={() => revoke.mutate(k.id)}>
                Revoke
              </button>
            )}
          </li>
        ))}
      </ul>
    </Card>
  );
}

export function HmacKey({ project }: { project: Project }) {
  const queryClient = useQueryClient();
  const path = { project_id: project.id };
  const [shown, setShown] = useState(false);
  const key = useQuery({
    queryKey: ["project", project.id, "hmac"],
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/hmac-key", { params: { path } })),
    enabled: atLeast(project.role, "editor"),
  });
  const rotate = useMutation({
    mutationFn: () => unwrap(api.POST("/api/projects/{project_id}/hmac-key/rotate", { params: { path } })),
    onSuccess: (data) => queryClient.setQueryData(["project", project.id, "hmac"], data),
  });
  const confirm = useConfirm();
  const askRotate = async () => {
    const yes = await confirm({
      title: "Rotate the HMAC key?",
      body: <p>Devices that sign with the old key fail the signature check until they get the new one.</p>,
      confirmLabel: "Rotate the key",
      danger: true,
    });
    if (yes) rotate.mutate();
  };
  return (
    <Card title="HMAC key">
      <p className="muted">Devices sign acquisition files (HS256) with this key; signed uploads are marked verified.</p>
      {key.data && (
        <div className="secret">
          <code className="secret-value">{shown ? key.data.hmac_key : "•".repeat(32)}</code>
          <button className="btn btn-small" onClick={() => setShown(!shown)}>
            {shown ? "Hide" : "Show"}
          </button>
          <CopyButton text={key.data.hmac_key} />
          {atLeast(project.role, "admin") && (
            <button className="btn btn-small btn-danger" onClick={() => void askRotate()}>
              Rotate
            </button>
          )}
        </div>
      )}
      <ErrorNote error={key.error || rotate.error} />
    </Card>
  );
}
