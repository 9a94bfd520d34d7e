/** The signed-in home: your projects, a form to create one, and invitations waiting for you. */
import { useState, type FormEvent } from "react";
import { Link, useNavigate } from "react-router-dom";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../api/client";
import { keys, refresh } from "../api/queries";
import { Card, EmptyState, ErrorNote, formatDate, Loading } from "../components/ui";

function Invitations() {
  const queryClient = useQueryClient();
  const invitations = useQuery({
    queryKey: ["my-invitations"],
    queryFn: () => unwrap(api.GET("/api/users/me/invitations")),
  });
  const respond = useMutation({
    mutationFn: ({ id, accept }: { id: number; accept: boolean }) =>
      unwrap(
        accept
          ? api.POST("/api/invitations/{invitation_id}/accept", { params: { path: { invitation_id: id } } })
          : api.POST("/api/invitations/{invitation_id}/decline", { params: { path: { invitation_id: id } } }),
      ),
    onSuccess: () => {
      void refresh(queryClient, ["my-invitations"]);
      void refresh(queryClient, keys.projects);
    },
  });
  const pending = (invitations.data ?? []).filter((i) => i.status === "pending");
  if (!pending.length) return null;
  return (
    <Card title="Invitations for you">
      <ul className="list">
        {pending.map((inv) => (
          <li key={inv.id} className="list-row">
            <div>
              <strong>{inv.project_name}</strong>
              <div className="muted">
                {inv.invited_by ?? "Someone"} invited you as {inv.role} · {formatDate(inv.created_at)}
              </div>
            </div>
            <div className="row-actions">
              <button className="btn btn-primary btn-small" onClick={() => respond.mutate({ id: inv.id, accept: true })}>
                Accept
              </button>
              <button className="btn btn-small" onClick={() => respond.mutate({ id: inv.id, accept: false })}>
                Decline
              </button>
            </div>
          </li>
        ))}
      </ul>
      <ErrorNote error={respond.error} />
    </Card>
  );
}

export function ProjectsPage() {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const projects = useQuery({ queryKey: keys.projects, queryFn: () => unwrap(api.GET("/api/projects")) });
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const create = useMutation({
    mutationFn: () => unwrap(api.POST("/api/projects", { body: { name, description } })),
    onSuccess: (project) => {
      void refresh(queryClient, keys.projects);
      navigate(`/projects/${project.id}`);
    },
  });
  function submit(event: FormEvent) {
    event.preventDefault();
    create.mutate();
  }
  return (
    <main className="page" id="main">
      <h1>Your projects</h1>
      <Invitations />
      <div className="grid-2">
        <Card title="Projects">
          {projects.isPending && <Loading what="projects" />}
          <ErrorNote error={projects.error} />
          {projects.data && projects.data.length === 0 && (
            <EmptyState title="No projects yet">
              <p>Create your first project with the form: give it a name, then upload data or connect a board.</p>
            </EmptyState>
          )}
          <ul className="list">
            {projects.data?.map((p) => (
              <li key={p.id} className="list-row">
                <div>
                  <Link to={`/projects/${p.id}`} className="strong-link">
                    {p.name}
                  </Link>
                  <div className="muted">
                    {p.description || "No description"} · owner {p.owner} · you are {p.role}
                  </div>
                </div>
                <span className="muted small">updated {formatDate(p.updated_at)}</span>
              </li>
            ))}
          </ul>
        </Card>
        <Card title="Create a project">
          <form onSubmit={submit} className="stack">
            <label className="field">
              <span>Name</span>
              <input name="project-name" value={name} required maxLength={100} onChange={(e) => setName(e.target.value)} />
            </label>
            <label className="field">
              <span>Description (optional)</span>
              <textarea name="project-description" value={description} rows={3} onChange={(e) => setDescription(e.target.value)} />
            </label>
            <ErrorNote error={create.error} />
            <button className="btn btn-primary" type="submit" disabled={create.isPending}>
              {create.isPending ? "Creating…" : "Create project"}
            </button>
          </form>
        </Card>
      </div>
    </main>
  );
}
