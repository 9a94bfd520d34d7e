"""People: users, browser sessions, personal access tokens."""
