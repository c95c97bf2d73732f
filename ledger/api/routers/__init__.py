"""Routers: each parses a request, calls one service, and shapes its answer."""
