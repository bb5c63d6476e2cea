"""Alembic migrations of the workstation schema (SQLite and PostgreSQL)."""
