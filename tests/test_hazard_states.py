"""The hazard status machine, exhaustively: every (status, action) pair is allowed or refused."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from bot.hazard import states
from bot.models import HazardReport, HazardTransition

NOW = datetime(2026, 6, 5, 1, 0, tzinfo=timezone.utc)

EXPECTED = {
    ("reported", "accept"): "accepted",
    ("reported", "reject"): "rejected",
    ("accepted", "start"): "rectifying",
    ("accepted", "reject"): "rejected",
    ("rectifying", "finish"): "rectified",
    ("rectified", "verify"): "verified",
    ("verified", "close"): "closed",
    ("rectified", "return"): "rectifying",  # 退回整改 (issue 14)
}
PAIRS = [(s, a) for s in states.STATUSES for a in states.ACTIONS]


_serial = iter(range(1, 10000))


def make(session, status: str) -> HazardReport:
    h = HazardReport(
        ticket=f"YH-20260605-{next(_serial):04d}",
        reporter="liuyang",
        description="d",
        category="other",
        location="",
        status=status,
        owner="zhaolei",
        reported_at=NOW,
        updated_at=NOW,
    )
    session.add(h)
    session.flush()
    return h


def test_the_table_is_the_documented_one():
    assert {(s, a): states.ACTIONS[a][1] for s, a in PAIRS if s in states.ACTIONS[a][0]} == EXPECTED


def test_every_status_action_pair(session):
    """All 7 x 7 pairs: the allowed ones move and leave one transition row; the rest are
    refused with IllegalTransition and change nothing."""
    note = "原因或说明"
    for status, action in PAIRS:
        h = make(session, status)
        rows = select(HazardTransition).where(HazardTransition.hazard_id == h.id)
        if (status, action) in EXPECTED:
            to = states.apply(session, h, action, actor="wangfang", now=NOW, note=note)
            assert to == EXPECTED[(status, action)] == h.status
            session.flush()
            [tr] = session.scalars(rows).all()
            assert (tr.actor, tr.action, tr.from_status, tr.to_status, tr.note, tr.at) == (
                "wangfang",
                action,
                status,
                to,
                note,
                NOW,
            )
            if to in states.STAMPS:
                assert getattr(h, states.STAMPS[to]) == NOW
        else:
            with pytest.raises(states.IllegalTransition) as err:
                states.apply(session, h, action, actor="wangfang", now=NOW, note=note)
            assert (err.value.status, err.value.action) == (status, action)
            assert h.status == status
            session.flush()
            assert session.scalars(rows).all() == []
    assert len(PAIRS) == 49


def test_terminal_statuses_allow_nothing():
    assert states.allowed_actions("closed") == [] and states.allowed_actions("rejected") == []
    assert states.allowed_actions("reported") == ["accept", "reject"]


@pytest.mark.parametrize(
    ("status", "action", "reason"),
    [("reported", "reject", "need_reason"), ("rectifying", "finish", "need_proof")],
)
def test_reject_needs_a_reason_and_finish_a_proof(session, status, action, reason):
    h = make(session, status)
    with pytest.raises(states.MissingInput) as err:
        states.apply(session, h, action, actor="wangfang", now=NOW, note="  ")
    assert err.value.reason == reason and h.status == status
    assert session.scalars(select(HazardTransition)).all() == []


def test_finish_with_a_photo_needs_no_note(session):
    h = make(session, "rectifying")
    assert (
        states.apply(session, h, "finish", actor="zhaolei", now=NOW, has_photo=True) == "rectified"
    )


def test_start_needs_an_owner(session):
    h = make(session, "accepted")
    h.owner = None
    with pytest.raises(states.MissingInput) as err:
        states.apply(session, h, "start", actor="wangfang", now=NOW)
    assert err.value.reason == "need_owner"


def test_unknown_action_is_a_programming_error():
    with pytest.raises(ValueError):
        states.target("reported", "explode")
