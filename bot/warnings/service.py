"""Deprecated re-exports, kept only for bot/console/actions.py (owned by another change).

Import from bot.warnings.publish, bot.warnings.acks or bot.warnings.cap_alerts instead;
delete this module once actions.py does.
"""

from __future__ import annotations

from bot.warnings.acks import ack_card, ack_count, record_ack, run_followups, unacknowledged
from bot.warnings.cap_alerts import classify, decide_cap, map_hazard, pending_alerts, process_alerts
from bot.warnings.publish import departments_by_name, labels, publish, recipients_for

__all__ = [
    "ack_card",
    "ack_count",
    "classify",
    "decide_cap",
    "departments_by_name",
    "labels",
    "map_hazard",
    "pending_alerts",
    "process_alerts",
    "publish",
    "recipients_for",
    "record_ack",
    "run_followups",
    "unacknowledged",
]
