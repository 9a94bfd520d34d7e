/** Project settings: name, members and roles, invitations, API keys and the HMAC key. */
import { useState, type FormEvent } from "react";
import { useNavigate, useOutletContext } from "react-router-dom";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Project, type Role } from "../api/client";
import { atLeast, keys, refresh, useMe, useOverview } from "../api/queries";
import { Card, CopyButton, counted, ErrorNote, formatBytes, formatDate } from "../components/ui";
import { useConfirm } from "../components/ConfirmDialog";
import { JobProgress } from "../components/JobProgress";
import { useJobEvents } from "../api/jobs";

const ROLES: Role[] = ["viewer", "editor", "admin", "owner"];

function ProjectExport({ project }: { project: Project }) {
  const [jobId, setJobId] = useState<number | null>(null);
  const start = useMutation({
    mutationFn: () => unwrap(api.POST("/api/projects/{project_id}/export", { params: { path: { project_id: project.id } } })),
    onSuccess: (job) => setJobId(job.id),
  });
  const job = useJobEvents(project.id, jobId);
  if (!atLeast(project.role, "editor")) return null;
  return (
    <div className="project-export">
      <button className="btn btn-small" onClick={() => start.mutate()} disabled={start.isPending}>
        Export the whole project
      </button>
      <ErrorNote error={start.error} />
      {jobId !== null && <JobProgress job={job} projectId={project.id} title="Project export" />}
      {job?.status === "succeeded" &&
        (job.artifacts ?? []).map((a) => (
          <a key={a.id} className="btn btn-small btn-primary" href={`/api/projects/${project.id}/artifacts/${a.id}/download`} download={a.name}>
            Download {a.name} ({formatBytes(a.size_bytes)})
          </a>
        ))}
    </div>
  );
}

function ProjectDetails({ project }: { project: Project }) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [name, setName] = useState(project.name);
  const [description, setDescription] = useState(project.description);
  const [typedName, setTypedName] = useState("");
  const confirm = useConfirm();
  const overview = useOverview(project.id);
  const save = useMutation({
    mutationFn: () => unwrap(api.PATCH("/api/projects/{project_id}", { params: { path: { project_id: project.id } }, body: { name, description } })),
    onSuccess: () => {
      void refresh(queryClient, keys.project(project.id));
      void refresh(queryClient, keys.projects);
    },
  });
  const remove = useMutation({
    mutationFn: () => unwrap(api.DELETE("/api/projects/{project_id}", { params: { path: { project_id: project.id }, query: { confirm_name: typedName } } })),
    onSuccess: () => {
      void refresh(queryClient, keys.projects);
      navigate("/");
    },
  });
  const canEdit = atLeast(project.role, "admin");
  const askDelete = async () => {
    const o = overview.data;
    const holds = o
      ? ` with ${counted(o.samples + o.trashed_samples, "sample")}, ${counted(o.impulses, "impulse")}, ${counted(o.training_runs, "training run")} and ${counted(o.deployments, "build")}`
      : "";
    const yes = await confirm({
      title: `Delete project “${project.name}”${holds}?`,
      body: (
        <p>
          Everything it holds is deleted for good, for every member: samples (also those in the trash), impulses, models, builds and jobs. This cannot be
          undone.
        </p>
      ),
      confirmLabel: "Delete the project",
      danger: true,
    });
    if (yes) remove.mutate();
  };
  return (
    <Card title="Project">
      <form
        className="stack"
        onSubmit={(e: FormEvent) => {
          e.preventDefault();
          save.mutate();
        }}
      >
        <label className="field">
          <span>Name</span>
          <input value={name} disabled={!canEdit} onChange={(e) => setName(e.target.value)} />
        </label>
        <label className="field">
          <span>Description</span>
          <textarea value={description} rows={2} disabled={!canEdit} onChange={(e) => setDescription(e.target.value)} />
        </label>
        <ErrorNote error={save.error} />
        {canEdit && (
          <div>
            <button className="btn btn-primary" type="submit">
              {save.isSuccess ? "Saved" : "Save"}
            </button>
          </div>
        )}
      </form>
      <ProjectExport project={project} />
      {project.role === "owner" && (
        <details className="danger-zone">
          <summary>Delete this project</summary>
          <p>This deletes all samples, models and jobs. Type the project's name to confirm.</p>
          <div className="inline-form">
            <label className="field">
              <span>Project name</span>
              <input value={typedName} onChange={(e) => setTypedName(e.target.value)} />
            </label>
            <button className="btn btn-danger" disabled={typedName !== project.name || overview.isPending || remove.isPending} onClick={() => void askDelete()}>
              Delete project
            </button>
          </div>
          <ErrorNote error={remove.error} />
        </details>
      )}
    </Card>
  );
}

function Members({ project }: { project: Project }) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const me = useMe();
  const path = { project_id: project.id };
  const members = useQuery({
    queryKey: keys.members(project.id),
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/members", { params: { path } })),
  });
  const reload = () => {
    void refresh(queryClient, keys.members(project.id));
    void refresh(queryClient, keys.project(project.id));
  };
  const change = useMutation({
    mutationFn: ({ userId, role }: { userId: number; role: Role }) =>
      unwrap(api.PATCH("/api/projects/{project_id}/members/{user_id}", { params: { path: { ...path, user_id: userId } }, body: { role } })),
    onSuccess: reload,
  });
  const remove = useMutation({
    mutationFn: (userId: number) => unwrap(api.DELETE("/api/projects/{project_id}/members/{user_id}", { params: { path: { ...path, user_id: userId } } })),
    onSuccess: reload,
  });
  const transfer = useMutation({
    mutationFn: (userId: number) => unwrap(api.POST("/api/projects/{project_id}/transfer", { params: { path }, body: { user_id: userId } })),
    onSuccess: reload,
  });
  const leave = useMutation({
    mutationFn: () => unwrap(api.POST("/api/projects/{project_id}/leave", { params: { path } })),
    onSuccess: () => {
      void refresh(queryClient, keys.projects);
      navigate("/");
    },
  });
  const admin = atLeast(project.role, "admin");
  const confirm = useConfirm();
  const askTransfer = async (userId: number, username: string) => {
    const yes = await confirm({
      title: `Make ${username} the owner of “${project.name}”?`,
      body: <p>You become an admin. Only the new owner can give ownership back or delete the project.</p>,
      confirmLabel: `Make ${username} the owner`,
      danger: true,
    });
    if (yes) transfer.mutate(userId);
  };
  return (
    <Card
      title="Members"
      actions={
        project.role !== "owner" && (
          <button className="btn btn-small" onClick={() => leave.mutate()}>
            Leave project
          </button>
        )
      }
    >
      <table className="table">
        <thead>
          <tr>
            <th>Member</th>
            <th>Role</th>
            <th>Joined</th>
            <th>
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {members.data?.map((m) => {
            const self = m.user_id === me.data?.id;
            return (
              <tr key={m.user_id}>
                <td>
                  <strong>{m.username}</strong>
                  {self && " (you)"}
                  {m.email && <div className="muted small">{m.email}</div>}
                </td>
                <td>
                  {admin && !self && m.role !== "owner" ? (
                    <select
                      aria-label={`Role of ${m.username}`}
                      value={m.role}
                      onChange={(e) => change.mutate({ userId: m.user_id, role: e.target.value as Role })}
                    >
                      {ROLES.filter((r) => r !== "owner").map((r) => (
                        <option key={r} value={r}>
                          {r}
                        </option>
                      ))}
                    </select>
                  ) : (
                    m.role
                  )}
                </td>
                <td className="muted small">{formatDate(m.joined_at)}</td>
                <td>
                  <div className="row-actions">
                    {project.role === "owner" && !self && (
                      <button className="btn btn-small" onClick={() => void askTransfer(m.user_id, m.username)}>
                        Make owner
                      </button>
                    )}
                    {admin && !self && m.role !== "owner" && (
                      <button className="btn btn-small btn-danger" onClick={() => remove.mutate(m.user_id)}>
                        Remove
                      </button>
                    )}
                  </div>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <ErrorNote error={members.error || change.error || remove.error || transfer.error || leave.error} />
    </Card>
  );
}

function Invitations({ project }: { project: Project }) {
  const queryClient = useQueryClient();
  const path = { project_id: project.id };
  const [invitee, setInvitee] = useState("");
  const [role, setRole] = useState<Role>("editor");
  const list = useQuery({
    queryKey: ["project", project.id, "invitations"],
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/invitations", { params: { path } })),
  });
  const reload = () => void refresh(queryClient, ["project", project.id, "invitations"]);
  const invite = useMutation({
    mutationFn: () => unwrap(api.POST("/api/projects/{project_id}/invitations", { params: { path }, body: { invitee, role } })),
    onSuccess: () => {
      setInvitee("");
      reload();
    },
  });
  const cancel = useMutation({
    mutationFn: (id: number) =>
      unwrap(api.DELETE("/api/projects/{project_id}/invitations/{invitation_id}", { params: { path: { ...path, invitation_id: id } } })),
    onSuccess: reload,
  });
  const pending = (list.data ?? []).filter((i) => i.status === "pending");
  return (
    <Card title="Invitations">
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          invite.mutate();
        }}
      >
        <label className="field">
          <span>Username or email</span>
          <input name="invitee" value={invitee} required onChange={(e) => setInvitee(e.target.value)} />
        </label>
        <label className="field">
          <span>Role</span>
          <select name="invite-role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {ROLES.filter((r) => r !== "owner").map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
        <button className="btn btn-primary" type="submit">
          Send invitation
        </button>
      </form>
      <ErrorNote error={invite.error || cancel.error} />
      {pending.length === 0 ? (
        <p className="muted">No pending invitations. Invite someone by username, or by email if they have no account yet.</p>
      ) : (
        <ul className="list">
          {pending.map((i) => (
            <li key={i.id} className="list-row">
              <span>
                {i.invitee_username ?? i.invitee_email} as {i.role} <span className="muted small">· {formatDate(i.created_at)}</span>
              </span>
              <button className="btn btn-small" onClick={() => cancel.mutate(i.id)}>
                Cancel
              </button>
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}

function ApiKeys({ project }: { project: Project }) {
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

function HmacKey({ project }: { project: Project }) {
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

export function SettingsPage() {
  const project = useOutletContext<Project>();
  const admin = atLeast(project.role, "admin");
  return (
    <>
      <h1>Settings</h1>
      <ProjectDetails project={project} />
      <Members project={project} />
      {admin && <Invitations project={project} />}
      {admin && <ApiKeys project={project} />}
      {atLeast(project.role, "editor") && <HmacKey project={project} />}
    </>
  );
}
