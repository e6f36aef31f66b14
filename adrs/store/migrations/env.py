"""Alembic environment: migrations run on the connection adrs hands over.

adrs keeps its revision in its own table, `adrs_version`, because optuna
(constant tuning stores its studies in the run's database) keeps its own in
alembic's default `alembic_version`.
"""

from alembic import context

from adrs.store.models import VERSION_TABLE, Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata,
                  render_as_batch=connection.dialect.name == "sqlite",
                  version_table=VERSION_TABLE)
with context.begin_transaction():
    context.run_migrations()
