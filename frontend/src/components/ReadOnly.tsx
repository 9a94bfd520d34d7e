/** A project member's role for the parts of its pages that do not get the project, and the note
 * that tells viewers why they see values instead of controls. */
import { createContext, useContext } from "react";
import type { Role } from "../api/client";
import { atLeast } from "../api/queries";

const RoleContext = createContext<Role | undefined>(undefined);

/** Set by the project's frame for every page in it. */
export const ProjectRoleProvider = RoleContext.Provider;

/** Whether the signed-in member may change the project shown (an editor or more). */
export function useCanEdit(): boolean {
  return atLeast(useContext(RoleContext), "editor");
}

export function ReadOnlyNote() {
  return (
    <p className="readonly-note" role="note">
      You can read this project; editors change it.
    </p>
  );
}
