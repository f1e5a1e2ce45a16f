"""Alembic environment of the cache, driven programmatically by ``restrat_sync.cache.engine``.

The caller passes an open connection (already inside a transaction) and an optional callback in
``config.attributes``; there is no alembic.ini and no offline mode.
"""

from __future__ import annotations

from alembic import context

from restrat_sync.cache.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the cache migrations through restrat_sync.cache.upgrade()")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    on_version_apply=config.attributes.get("on_version_apply", ()),
    # SQLite can alter little in place; batch mode copies the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
