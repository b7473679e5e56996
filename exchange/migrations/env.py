"""Alembic environment: runs on the connection handed over by :func:`exchange.store.migrate.upgrade`
(or on ``sqlalchemy.url`` when called from the alembic command line)."""
from alembic import context
from alembic.util import CommandError
from sqlalchemy import Connection, create_engine

from exchange.store.models import Base

config = context.config
target_metadata = Base.metadata


def run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite",
                      transaction_per_migration=False)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":  # one migrator at a time
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(872364021)")
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    url = config.get_main_option("sqlalchemy.url")
    if url is None:
        raise CommandError("no sqlalchemy.url to migrate: set it, or run `exchange db upgrade`")
    engine = create_engine(url)
    with engine.connect() as conn:
        run(conn)
