"""Alembic environment: the engine comes from data.db.Database (config.attributes['engine'])."""

from alembic import context

from data.schema import Base

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # `alembic` called from the command line: use the app's settings.
    from data.db import Database
    from data.settings import load_settings

    engine = Database(load_settings().resolved_database_url).engine

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
