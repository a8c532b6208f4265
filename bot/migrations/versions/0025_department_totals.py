"""running totals per department: department_totals, kept by triggers

Revision ID: 0025_department_totals
Revises: 0024_question_counts

Per department (the person's current main department; 0: an active member without one; -1:
everyone else with a person_totals row): active members, their quiz points, how many took part.
Triggers keep it, so every writer of person_totals or users is covered in its own statement:

- on person_totals (the chat path: an answer, any first participation, a repair): the change
  of points and of "took part" goes to the person's department, looked up in users, in the
  row with source 0;
- on users (directory sync, a stranger's first message): a member who joins, leaves or moves
  takes their membership, points and participation from the old department to the new one,
  in the rows with source 1.

PostgreSQL, concurrency (READ COMMITTED): the person's person_totals row is where an answer
and a directory change of the same person meet. An answer's trigger runs after its own update
of that row (the row lock held) and reads users afterwards (a fresh snapshot per statement); a
users change first makes sure the row exists (an empty row means the same as none) and locks
it (FOR UPDATE) before reading the points it moves. Whichever comes second waits for the
other's commit and sees its result, so nothing is counted in the old department after the
person moved — also when the answer is the person's first and inserts the row. Row locks, not
advisory locks: a sync moving or adding tens of thousands of members would exhaust the shared
lock table (max_locks_per_transaction). A new users row needs no lock: nobody writes a
person's totals before their users row exists (the chat path inserts it first, in the same
transaction, and a sync inserting the same member waits for that insert).

No deadlock: an answer never waits for a users row (it only reads them) nor for a source-1
row; a sync waits for person rows that answers hold briefly. The two sources keep the sync
(many members in one long transaction, holding its department rows to the end) off the rows
answers add to. SQLite serialises writers.

Self-contained SQL (tables named here, not the models).
"""

from alembic import op

revision = "0025_department_totals"
down_revision = "0024_question_counts"
branch_labels = None
depends_on = None

# The department a users row counts for (the same expression in the backfill and triggers).
_KEY = "CASE WHEN {u}.status = 1 THEN COALESCE({u}.department_id, 0) ELSE -1 END"
_MEMBER = "CASE WHEN {u}.status = 1 THEN 1 ELSE 0 END"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE department_totals (
            department_id INTEGER NOT NULL,
            source INTEGER NOT NULL,
            members INTEGER DEFAULT '0' NOT NULL,
            points INTEGER DEFAULT '0' NOT NULL,
            participants INTEGER DEFAULT '0' NOT NULL,
            CONSTRAINT pk_department_totals PRIMARY KEY (department_id, source)
        )
        """
    )
    _backfill()
    if op.get_bind().dialect.name == "postgresql":
        _postgres_triggers()
    else:
        _sqlite_triggers()


def _backfill() -> None:
    """Members from users, points and participation from person_totals (a person without a
    users row counts in -1), grouped in one INSERT … SELECT."""
    key = _KEY.format(u="u")
    op.execute(
        f"""
        INSERT INTO department_totals (department_id, source, members, points, participants)
        SELECT k, 0, SUM(m), SUM(p), SUM(t) FROM (
            SELECT {key} AS k, {_MEMBER.format(u="u")} AS m, 0 AS p, 0 AS t FROM users u
            UNION ALL
            SELECT COALESCE((SELECT {key} FROM users u WHERE u.userid = pt.userid), -1),
                   0, pt.points, CASE WHEN pt.took_part_on IS NULL THEN 0 ELSE 1 END
            FROM person_totals pt
        ) x
        GROUP BY k
        """
    )


# -- SQLite ------------------------------------------------------------------------------------
def _sqlite_add(department: str, source: int, members: str, points: str, took_part: str) -> str:
    return f"""
        INSERT INTO department_totals (department_id, source, members, points, participants)
        VALUES ({department}, {source}, {members}, {points}, {took_part})
        ON CONFLICT (department_id, source) DO UPDATE SET
            members = members + excluded.members,
            points = points + excluded.points,
            participants = participants + excluded.participants;"""


def _sqlite_person_key(row: str) -> str:
    return f"COALESCE((SELECT {_KEY.format(u='u')} FROM users u WHERE u.userid = {row}.userid), -1)"


def _took_part(row: str) -> str:
    return f"(CASE WHEN {row}.took_part_on IS NULL THEN 0 ELSE 1 END)"


def _sqlite_triggers() -> None:
    new_key, old_key = _sqlite_person_key("NEW"), _sqlite_person_key("OLD")
    changed = _sqlite_add(
        new_key, 0, "0", "NEW.points - OLD.points", f"{_took_part('NEW')} - {_took_part('OLD')}"
    )
    op.execute(
        f"""
        CREATE TRIGGER department_totals_person_insert AFTER INSERT ON person_totals
        WHEN NEW.points <> 0 OR NEW.took_part_on IS NOT NULL
        BEGIN {_sqlite_add(new_key, 0, "0", "NEW.points", _took_part("NEW"))}
        END
        """
    )
    op.execute(
        f"""
        CREATE TRIGGER department_totals_person_update
        AFTER UPDATE OF points, took_part_on ON person_totals
        WHEN NEW.points <> OLD.points OR {_took_part("NEW")} <> {_took_part("OLD")}
        BEGIN {changed}
        END
        """
    )
    op.execute(
        f"""
        CREATE TRIGGER department_totals_person_delete AFTER DELETE ON person_totals
        WHEN OLD.points <> 0 OR OLD.took_part_on IS NOT NULL
        BEGIN {_sqlite_add(old_key, 0, "0", "-OLD.points", f"-{_took_part('OLD')}")}
        END
        """
    )
    # users: the person's points and participation, read once per statement below.
    points = "COALESCE((SELECT points FROM person_totals WHERE userid = {r}.userid), 0)"
    part = (
        "(SELECT COUNT(*) FROM person_totals"
        " WHERE userid = {r}.userid AND took_part_on IS NOT NULL)"
    )

    def move_out(r: str) -> str:
        return _sqlite_add(
            _KEY.format(u=r),
            1,
            f"-{_MEMBER.format(u=r)}",
            f"-{points.format(r=r)}",
            f"-{part.format(r=r)}",
        )

    def move_in(r: str) -> str:
        return _sqlite_add(
            _KEY.format(u=r), 1, _MEMBER.format(u=r), points.format(r=r), part.format(r=r)
        )

    def elsewhere(r: str, sign: str) -> str:
        return _sqlite_add("-1", 1, "0", f"{sign}{points.format(r=r)}", f"{sign}{part.format(r=r)}")

    op.execute(
        f"""
        CREATE TRIGGER department_totals_member_insert AFTER INSERT ON users
        WHEN {_KEY.format(u="NEW")} <> -1
        BEGIN {elsewhere("NEW", "-")} {move_in("NEW")}
        END
        """
    )
    op.execute(
        f"""
        CREATE TRIGGER department_totals_member_update
        AFTER UPDATE OF status, department_id ON users
        WHEN {_KEY.format(u="NEW")} <> {_KEY.format(u="OLD")}
        BEGIN {move_out("OLD")} {move_in("NEW")}
        END
        """
    )
    op.execute(
        f"""
        CREATE TRIGGER department_totals_member_delete AFTER DELETE ON users
        WHEN {_KEY.format(u="OLD")} <> -1
        BEGIN {move_out("OLD")} {elsewhere("OLD", "")}
        END
        """
    )


# -- PostgreSQL --------------------------------------------------------------------------------
_PG_ADD = """
        INSERT INTO department_totals AS t (department_id, source, members, points, participants)
        VALUES ({department}, {source}, {members}, {points}, {took_part})
        ON CONFLICT (department_id, source) DO UPDATE SET
            members = t.members + EXCLUDED.members,
            points = t.points + EXCLUDED.points,
            participants = t.participants + EXCLUDED.participants;"""


def _postgres_triggers() -> None:
    # One statement (the department looked up inside it): each statement of a PL/pgSQL
    # function costs a call into the executor, and this runs on every right answer.
    person_add = _PG_ADD.format(
        department=f"COALESCE((SELECT {_KEY.format(u='u')} FROM users u WHERE u.userid = v_userid), -1)",
        source=0,
        members=0,
        points="v_points",
        took_part="v_took_part",
    )
    member_out = _PG_ADD.format(
        department="v_old",
        source=1,
        members="-v_old_member",
        points="-v_points",
        took_part="-v_took_part",
    )
    member_in = _PG_ADD.format(
        department="v_new",
        source=1,
        members="v_new_member",
        points="v_points",
        took_part="v_took_part",
    )
    op.execute(
        f"""
        CREATE FUNCTION department_totals_person() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            v_userid text;
            v_points integer := 0;
            v_took_part integer := 0;
        BEGIN
            IF TG_OP <> 'DELETE' THEN
                v_userid := NEW.userid;
                v_points := NEW.points;
                v_took_part := {_took_part("NEW")};
            END IF;
            IF TG_OP <> 'INSERT' THEN
                v_userid := OLD.userid;
                v_points := v_points - OLD.points;
                v_took_part := v_took_part - {_took_part("OLD")};
            END IF;
            -- This row is locked: a directory change of this person committed before (and
            -- is seen by the lookup in users) or waits for this transaction.
            {person_add}
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        f"""
        CREATE FUNCTION department_totals_member() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            v_userid text;
            v_old integer := -1;
            v_new integer := -1;
            v_old_member integer := 0;
            v_new_member integer := 0;
            v_points integer;
            v_took_part integer;
        BEGIN
            IF TG_OP <> 'INSERT' THEN
                v_userid := OLD.userid;
                v_old := {_KEY.format(u="OLD")};
                v_old_member := {_MEMBER.format(u="OLD")};
            END IF;
            IF TG_OP <> 'DELETE' THEN
                v_userid := NEW.userid;
                v_new := {_KEY.format(u="NEW")};
                v_new_member := {_MEMBER.format(u="NEW")};
            END IF;
            IF v_old = v_new THEN
                RETURN NULL;
            END IF;
            IF TG_OP <> 'INSERT' THEN
                -- An answer of this person in flight commits first (its trigger counted it
                -- in the old department; its points are read below) or waits for this
                -- transaction and counts in the new department. The empty row gives a first
                -- answer a row to wait on.
                INSERT INTO person_totals (userid) VALUES (v_userid) ON CONFLICT DO NOTHING;
                PERFORM 1 FROM person_totals p WHERE p.userid = v_userid FOR UPDATE;
            END IF;
            SELECT p.points, {_took_part("p")} INTO v_points, v_took_part
            FROM person_totals p WHERE p.userid = v_userid;
            v_points := COALESCE(v_points, 0);
            v_took_part := COALESCE(v_took_part, 0);
            IF v_old_member <> 0 OR v_points <> 0 OR v_took_part <> 0 THEN
            {member_out}
            END IF;
            IF v_new_member <> 0 OR v_points <> 0 OR v_took_part <> 0 THEN
            {member_in}
            END IF;
            RETURN NULL;
        END $$
        """
    )
    person_changed = f"OLD.points <> NEW.points OR {_took_part('OLD')} <> {_took_part('NEW')}"
    for name, when, event in (
        ("insert", "NEW.points <> 0 OR NEW.took_part_on IS NOT NULL", "INSERT"),
        ("update", person_changed, "UPDATE OF points, took_part_on"),
        ("delete", "OLD.points <> 0 OR OLD.took_part_on IS NOT NULL", "DELETE"),
    ):
        op.execute(
            f"CREATE TRIGGER department_totals_person_{name} AFTER {event} ON person_totals"
            f" FOR EACH ROW WHEN ({when}) EXECUTE FUNCTION department_totals_person()"
        )
    member_changed = f"{_KEY.format(u='OLD')} <> {_KEY.format(u='NEW')}"
    for name, when, event in (
        ("insert", f"{_KEY.format(u='NEW')} <> -1", "INSERT"),
        ("update", member_changed, "UPDATE OF status, department_id"),
        ("delete", f"{_KEY.format(u='OLD')} <> -1", "DELETE"),
    ):
        op.execute(
            f"CREATE TRIGGER department_totals_member_{name} AFTER {event} ON users"
            f" FOR EACH ROW WHEN ({when}) EXECUTE FUNCTION department_totals_member()"
        )


def downgrade() -> None:
    for table, kind in (("person_totals", "person"), ("users", "member")):
        for name in ("insert", "update", "delete"):
            trigger = f"department_totals_{kind}_{name}"
            if op.get_bind().dialect.name == "postgresql":
                op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
            else:
                op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS department_totals_person()")
        op.execute("DROP FUNCTION IF EXISTS department_totals_member()")
    op.execute("DROP TABLE department_totals")
