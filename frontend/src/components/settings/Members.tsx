/** The members of a project with their roles: changing a role, making another member the owner, removing, leaving. */
import { useNavigate } from "react-router-dom";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Project, type Role } from "../../api/client";
import { atLeast, keys, refresh, useMe } from "../../api/queries";
import { Card, ErrorNote, formatDate } from "../ui";
import { useConfirm } from "../ConfirmDialog";

/** The roles a member can be given (ownership is transferred, not given). */
export const ASSIGNABLE_ROLES: Role[] = ["viewer", "editor", "admin"];

export function Members({ project }: { project: Project }) {
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
                      {ASSIGNABLE_ROLES.map((r) => (
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
