"""Apply the Alembic migrations (bot/migrations) — by `init-db`, `serve` and tests.

Several processes may start at once (gunicorn workers, a scheduler): on PostgreSQL an advisory
lock makes the others wait for the first; on SQLite BEGIN IMMEDIATE does the same.

Alembic's own INFO lines ("Context impl …", one per start) are kept quiet by
bot.logging_setup; each migration that actually runs is one line here.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_LOCK_ID = 0x5AFE7B07

log = logging.getLogger(__name__)


def _log_applied(ctx, step, heads, run_args) -> None:
    """Alembic's on_version_apply hook (bot/migrations/env.py): one line per migration run."""
    if not step.is_migration:
        return
    script = step.up_revision if step.is_upgrade else step.down_revision
    doc = ((script.doc if script is not None else "") or "").strip().splitlines()
    what = "applied" if step.is_upgrade else "reverted"
    log.info(
        "database migration %s: %s%s", what, step.up_revision_id, f" ({doc[0]})" if doc else ""
    )


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def upgrade(engine: Engine) -> None:
    cfg = alembic_config()
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
        cfg.attributes["connection"] = conn
        cfg.attributes["on_version_apply"] = _log_applied
        command.upgrade(cfg, "heads")


def is_current(engine: Engine) -> bool:
    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads()) == heads
