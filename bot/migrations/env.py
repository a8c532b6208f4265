"""Alembic environment: the connection comes from bot.migrate (or DATABASE_URL for the CLI)."""

from alembic import context

from bot.models import Base

config = context.config
connection = config.attributes.get("connection")


def run(conn) -> None:
    context.configure(
        connection=conn,
        target_metadata=Base.metadata,
        render_as_batch=True,
        compare_type=True,
        # bot.migrate logs one line per migration that runs.
        on_version_apply=config.attributes.get("on_version_apply"),
    )
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    run(connection)
else:  # pragma: no cover - `alembic` run by hand
    from bot.db import make_engine
    from bot.settings import Settings

    engine = make_engine(Settings.from_env().database_url)
    with engine.begin() as conn:
        run(conn)
