/** A project's frame: the left navigation and the current page. */
import { NavLink, Outlet, useParams } from "react-router-dom";
import { atLeast, useProject } from "../api/queries";
import { ProjectRoleProvider, ReadOnlyNote } from "../components/ReadOnly";
import { ErrorNote, Loading } from "../components/ui";

const SECTIONS = [
  { to: "", label: "Dashboard", end: true },
  { to: "data", label: "Data acquisition" },
  { to: "devices", label: "Devices" },
  { to: "impulse", label: "Impulse design" },
  { to: "training", label: "Training" },
  { to: "tuner", label: "Tuner" },
  { to: "deployment", label: "Deployment" },
  { to: "models", label: "Models" },
  { to: "virtual-boards", label: "Virtual boards" },
  { to: "flash", label: "Flash a board" },
  { to: "fleet", label: "Fleet" },
  { to: "settings", label: "Settings" },
];

/** The numeric project id from the route. */
export function useProjectId(): number {
  const { projectId } = useParams();
  return Number(projectId);
}

export function ProjectLayout() {
  const projectId = useProjectId();
  const project = useProject(projectId);
  return (
    <div className="project-frame">
      <nav className="sidenav" aria-label="Project">
        <div className="sidenav-title" title={project.data?.name}>
          {project.data?.name ?? "…"}
        </div>
        <ul>
          {SECTIONS.map((s) => (
            <li key={s.label}>
              <NavLink to={s.to ? `/projects/${projectId}/${s.to}` : `/projects/${projectId}`} end={s.end}>
                {s.label}
              </NavLink>
            </li>
          ))}
        </ul>
      </nav>
      <main className="page project-page" id="main">
        {project.isPending && <Loading what="the project" />}
        <ErrorNote error={project.error} />
        {project.data && (
          <ProjectRoleProvider value={project.data.role}>
            {!atLeast(project.data.role, "editor") && <ReadOnlyNote />}
            <Outlet context={project.data} />
          </ProjectRoleProvider>
        )}
      </main>
    </div>
  );
}
