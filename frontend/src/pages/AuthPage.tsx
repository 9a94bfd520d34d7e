/** Sign up and log in. */
import { useState, type FormEvent } from "react";
import { Link, useNavigate, useSearchParams } from "react-router-dom";
import { useQueryClient } from "@tanstack/react-query";
import { api, ApiError, setCsrfToken, unwrap } from "../api/client";
import { keys } from "../api/queries";

export function AuthPage({ mode }: { mode: "login" | "signup" }) {
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [form, setForm] = useState({ username: "", email: "", full_name: "", password: "" });
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const signup = mode === "signup";

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const answer = signup
        ? await unwrap(api.POST("/api/auth/register", { body: form }))
        : await unwrap(api.POST("/api/auth/login", { body: { username: form.username, password: form.password } }));
      setCsrfToken(answer.csrf_token);
      queryClient.setQueryData(keys.me, answer.user);
      const next = params.get("next");
      navigate(next && next.startsWith("/") && !next.startsWith("//") ? next : "/");
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, "error", String(err)));
    } finally {
      setBusy(false);
    }
  }

  const fieldError = (name: string) =>
    error && error.field === name ? (
      <span className="field-error" id={`${name}-error`}>
        {error.message}
      </span>
    ) : null;
  const input = (name: keyof typeof form, label: string, type = "text", autoComplete?: string) => (
    <label className="field">
      <span>{label}</span>
      <input
        name={name}
        type={type}
        autoComplete={autoComplete}
        value={form[name]}
        required={name !== "full_name"}
        aria-invalid={error?.field === name}
        aria-describedby={error?.field === name ? `${name}-error` : undefined}
        onChange={(e) => setForm({ ...form, [name]: e.target.value })}
      />
      {fieldError(name)}
    </label>
  );

  return (
    <main className="auth" id="main">
      <form className="auth-card" onSubmit={submit} aria-labelledby="auth-title">
        <div className="brand brand-large">
          <span className="brand-mark" aria-hidden="true" />
          TinyStudio
        </div>
        <h1 id="auth-title">{signup ? "Create your account" : "Log in"}</h1>
        {input("username", signup ? "Username" : "Username or email", "text", "username")}
        {signup && input("email", "Email", "email", "email")}
        {signup && input("full_name", "Full name (optional)", "text", "name")}
        {input("password", "Password", "password", signup ? "new-password" : "current-password")}
        {error && !["username", "email", "full_name", "password"].includes(error.field ?? "") && (
          <p className="error-note" role="alert">
            {error.message}
          </p>
        )}
        <button className="btn btn-primary btn-wide" type="submit" disabled={busy}>
          {busy ? "Please wait…" : signup ? "Sign up" : "Log in"}
        </button>
        <p className="muted center">
          {signup ? (
            <>
              Already have an account? <Link to="/login">Log in</Link>
            </>
          ) : (
            <>
              New to TinyStudio? <Link to="/signup">Create an account</Link>
            </>
          )}
        </p>
      </form>
    </main>
  );
}
