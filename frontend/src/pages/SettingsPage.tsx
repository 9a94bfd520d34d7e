/** Project settings: name, members and roles, invitations, API keys and the HMAC key. */
import { useOutletContext } from "react-router-dom";
import type { Project } from "../api/client";
import { atLeast } from "../api/queries";
import { ApiKeys, HmacKey } from "../components/settings/Keys";
import { Invitations } from "../components/settings/Invitations";
import { Members } from "../components/settings/Members";
import { ProjectDetails } from "../components/settings/ProjectDetails";

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
