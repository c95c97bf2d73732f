"""The staff web application: server-rendered pages (Jinja2, htmx) on the same services as the
API. ``install`` adds it to the FastAPI app; routes are thin, every rule is the services'."""
