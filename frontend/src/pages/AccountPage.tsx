/** Your account: profile and personal access tokens for the API and command line. */
import { useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../api/client";
import { refresh, useMe } from "../api/queries";
import { Card, CopyButton, ErrorNote, formatDate } from "../components/ui";

export function AccountPage() {
  const me = useMe();
  const queryClient = useQueryClient();
  const tokens = useQuery({ queryKey: ["tokens"], queryFn: () => unwrap(api.GET("/api/users/me/tokens")) });
  const [name, setName] = useState("");
  const [created, setCreated] = useState<string | null>(null);
  const create = useMutation({
    mutationFn: () => unwrap(api.POST("/api/users/me/tokens", { body: { name } })),
    onSuccess: (token) => {
      setCreated(token.token);
      setName("");
      void refresh(queryClient, ["tokens"]);
    },
  });
  const revoke = useMutation({
    mutationFn: (id: number) => unwrap(api.DELETE("/api/users/me/tokens/{token_id}", { params: { path: { token_id: id } } })),
    onSuccess: () => void refresh(queryClient, ["tokens"]),
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    create.mutate();
  }
  return (
    <main className="page" id="main">
      <h1>Your account</h1>
      <Card title="Profile">
        <dl className="facts">
          <dt>Username</dt>
          <dd>{me.data?.username}</dd>
          <dt>Email</dt>
          <dd>{me.data?.email}</dd>
          <dt>Name</dt>
          <dd>{me.data?.full_name || "—"}</dd>
        </dl>
      </Card>
      <Card title="Personal access tokens">
        <p className="muted">
          Tokens let scripts and the command line act as you (send them as <code>Authorization: Bearer …</code>).
        </p>
        <form className="inline-form" onSubmit={submit}>
          <label className="field">
            <span>Token name</span>
            <input value={name} required onChange={(e) => setName(e.target.value)} />
          </label>
          <button className="btn btn-primary" type="submit">
            Create token
          </button>
        </form>
        <ErrorNote error={create.error} />
        {created && (
          <div className="secret" role="status">
            <p>
              <strong>Copy this token now:</strong> it is shown only once.
            </p>
            <code className="secret-value">{created}</code> <CopyButton text={created} />
          </div>
        )}
        <ul className="list">
          {tokens.data?.map((t) => (
            <li key={t.id} className="list-row">
              <div>
                <strong>{t.name}</strong> <code>{t.prefix}…</code>
                <div className="muted small">
                  created {formatDate(t.created_at)} · last used {formatDate(t.last_used_at)}
                  {t.revoked_at ? " · revoked" : ""}
                </div>
              </div>
              {!t.revoked_at && (
                <button className="btn btn-small btn-danger" onClick={() => revoke.mutate(t.id)}>
                  Revoke
                </button>
              )}
            </li>
          ))}
        </ul>
      </Card>
    </main>
  );
}
