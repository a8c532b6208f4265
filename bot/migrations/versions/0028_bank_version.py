"""the question bank's version: bank_version, bumped by a trigger on every write to questions

Revision ID: 0028_bank_version
Revises: 0027_pledge_counts
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0028_bank_version"
down_revision = "0027_pledge_counts"
branch_labels = None
depends_on = None

# Every process caches the question bank (bot.quiz.bank_cache) and reads this one number with
# the sender of each message; a trigger, not the application, bumps it, so no writer of the
# questions table can forget to (imports, console edits, the builtin sync, a test's or an
# operator's own SQL).
#
# SQLite: one AFTER trigger per kind of write, per row (SQLite has no statement triggers).
# PostgreSQL: BEFORE … FOR EACH STATEMENT, so every writer of the bank takes the version row's
# lock before any question row's: two bank writers queue on it instead of deadlocking.
_SQLITE_TRIGGERS = {
    kind: f"""
        CREATE TRIGGER questions_bump_bank_version_{kind.lower()} AFTER {kind} ON questions
        BEGIN
            UPDATE bank_version SET version = version + 1 WHERE id = 1;
        END
    """
    for kind in ("INSERT", "UPDATE", "DELETE")
}
_PG_FUNCTION = """
    CREATE FUNCTION bump_bank_version() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE bank_version SET version = version + 1 WHERE id = 1;
        RETURN NULL;
    END
    $$
"""
_PG_TRIGGER = """
    CREATE TRIGGER questions_bump_bank_version
    BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON questions
    FOR EACH STATEMENT EXECUTE FUNCTION bump_bank_version()
"""


def upgrade() -> None:
    op.create_table(
        "bank_version",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_version")),
    )
    # A random start, not 1: a process that cached the bank of a database dropped and created
    # again at the same URL must not take the new one's first versions for the old ones.
    start = secrets.randbelow(2**40)
    op.execute(f"INSERT INTO bank_version (id, version) VALUES (1, {start})")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute(_PG_TRIGGER)
    else:
        for ddl in _SQLITE_TRIGGERS.values():
            op.execute(ddl)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER questions_bump_bank_version ON questions")
        op.execute("DROP FUNCTION bump_bank_version()")
    else:
        for kind in _SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER questions_bump_bank_version_{kind.lower()}")
    op.drop_table("bank_version")
