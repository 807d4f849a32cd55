"""Routers of the web interface's pages, one module per area."""
