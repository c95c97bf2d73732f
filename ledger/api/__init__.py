"""The HTTP API (FastAPI): ``create_app()`` in ``ledger.api.app``."""
