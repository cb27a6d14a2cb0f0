"""Route groups of the HTTP API."""
