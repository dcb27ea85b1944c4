"""Tracked repositories: the caller's list on the server, GitHub lookups and search, the import from the
old client's localStorage."""
