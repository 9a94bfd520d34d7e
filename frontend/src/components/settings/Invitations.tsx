/** Inviting someone to the project by username or email, with a role; pending invitations. */
import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Project, type Role } from "../../api/client";
import { refresh } from "../../api/queries";
import { Card, ErrorNote, formatDate } from "../ui";
import { ASSIGNABLE_ROLES } from "./Members";

export function Invitations({ project }: { project: Project }) {
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
            {ASSIGNABLE_ROLES.map((r) => (
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
