"""The hazard status machine: the one place that says which change is allowed.

    reported -> accepted -> rectifying -> rectified -> verified -> closed
    reported | accepted -> rejected (with a reason)
    rectified -> rectifying (退回整改, with a reason: the fix goes back to its owner)

A major hazard (重大事故隐患, `grade`) needs a rectification plan before it can be verified.

Every change goes through `apply` and leaves a HazardTransition row (who, when, from, to,
note); an action that is not allowed from the current status raises IllegalTransition and
changes nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.content import texts
from bot.models import HazardReport, HazardTransition

STATUSES = ("reported", "accepted", "rectifying", "rectified", "verified", "closed", "rejected")
OPEN_STATUSES = ("reported", "accepted", "rectifying", "rectified")
# Still waiting for the fix: these can be overdue.
UNFIXED_STATUSES = ("reported", "accepted", "rectifying")

# action -> (statuses it may start from, status it leads to)
ACTIONS: dict[str, tuple[frozenset[str], str]] = {
    "accept": (frozenset({"reported"}), "accepted"),
    "start": (frozenset({"accepted"}), "rectifying"),
    "finish": (frozenset({"rectifying"}), "rectified"),
    "verify": (frozenset({"rectified"}), "verified"),
    "close": (frozenset({"verified"}), "closed"),
    "reject": (frozenset({"reported", "accepted"}), "rejected"),
    "return": (frozenset({"rectified"}), "rectifying"),
}

# The timestamp column each target status sets.
STAMPS = {
    "accepted": "accepted_at",
    "rectified": "rectified_at",
    "verified": "verified_at",
    "closed": "closed_at",
}


def status_label(status: str | None) -> str:
    """The one wording of a status (content `hazard.statuses`), for chat, console, exports."""
    if not status:
        return ""
    try:
        return texts.get(f"hazard.statuses.{status}")
    except KeyError:
        return status


class TransitionRefused(Exception):
    """A change that cannot be made; `reason` names the reply template that explains it."""

    reason = "refused"


class IllegalTransition(TransitionRefused):
    reason = "illegal"

    def __init__(self, status: str, action: str) -> None:
        super().__init__(f"cannot {action} a hazard that is {status}")
        self.status = status
        self.action = action


class MissingInput(TransitionRefused):
    """Rejecting needs a reason, finishing a photo or a note, starting an assigned owner."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def target(status: str, action: str) -> str:
    """The status `action` leads to from `status`, or IllegalTransition."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    sources, to = ACTIONS[action]
    if status not in sources:
        raise IllegalTransition(status, action)
    return to


def allowed_actions(status: str) -> list[str]:
    return [a for a, (sources, _) in ACTIONS.items() if status in sources]


def record(
    session: Session,
    hazard: HazardReport,
    *,
    actor: str,
    action: str,
    from_status: str | None,
    to_status: str,
    note: str,
    now: datetime,
) -> None:
    session.add(
        HazardTransition(
            hazard_id=hazard.id,
            actor=actor,
            action=action,
            from_status=from_status,
            to_status=to_status,
            note=note or "",
            at=now,
        )
    )


def apply(
    session: Session,
    hazard: HazardReport,
    action: str,
    *,
    actor: str,
    now: datetime,
    note: str = "",
    has_photo: bool = False,
) -> str:
    """Move `hazard` by `action`; returns the new status. Refuses illegal moves."""
    to = target(hazard.status, action)
    note = (note or "").strip()
    if action == "reject" and not note:
        raise MissingInput("need_reason")
    if action == "finish" and not (note or has_photo):
        raise MissingInput("need_proof")
    if action == "start" and not hazard.owner:
        raise MissingInput("need_owner")
    if action == "return" and not note:
        raise MissingInput("need_return_reason")
    if action == "verify" and hazard.grade == "major" and not (hazard.plan or "").strip():
        raise MissingInput("need_plan")
    from_status = hazard.status
    hazard.status = to
    hazard.updated_at = now
    if to in STAMPS:
        setattr(hazard, STAMPS[to], now)
    if action == "reject":
        hazard.reject_reason = note
    if action == "finish" and note:
        hazard.rectify_note = note
    record(
        session,
        hazard,
        actor=actor,
        action=action,
        from_status=from_status,
        to_status=to,
        note=note,
        now=now,
    )
    return to
