"""Storage: SQLAlchemy Core tables, repositories, and the unit of work (the only committer)."""
