"""Projects and teams: members, roles, invitations, API and HMAC keys, activity."""
