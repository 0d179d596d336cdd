"""Data layer: typed SQLAlchemy models, engine/session factory, Alembic migrations. Knows nothing of core/."""
