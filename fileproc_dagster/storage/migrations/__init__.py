"""Alembic migrations of the records database (SQLite in batch mode, PostgreSQL alike)."""
