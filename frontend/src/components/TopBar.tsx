/** The bar at the top of every signed-in page: home link, account, log out. */
import { Link, useNavigate } from "react-router-dom";
import { useQueryClient } from "@tanstack/react-query";
import { api, setCsrfToken } from "../api/client";
import { useMe } from "../api/queries";

export function TopBar() {
  const me = useMe();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  async function logout() {
    await api.POST("/api/auth/logout");
    setCsrfToken(null);
    queryClient.clear();
    navigate("/login");
  }
  return (
    <header className="topbar">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <Link to="/" className="brand">
        <span className="brand-mark" aria-hidden="true" />
        TinyStudio
      </Link>
      <nav className="topbar-right" aria-label="Account">
        <Link to="/account">{me.data?.username}</Link>
        <button type="button" className="btn btn-ghost" onClick={logout}>
          Log out
        </button>
      </nav>
    </header>
  );
}
