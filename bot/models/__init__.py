"""All models, imported here so `Base.metadata` (and Alembic) sees every table.

Feature modules add their own `bot/models/<feature>.py` and one import line below.
"""

from bot.models.base import Base, UTCDateTime
from bot.models.core import (
    AccessToken,
    AuditLog,
    Conversation,
    Department,
    InboundMessage,
    JobRun,
    MemberSendCount,
    OutboundMessage,
    OutboxDelivery,
    RoleAssignment,
    User,
)

__all__ = [
    "AccessToken",
    "AuditLog",
    "Base",
    "Conversation",
    "Department",
    "InboundMessage",
    "JobRun",
    "MemberSendCount",
    "OutboundMessage",
    "OutboxDelivery",
    "RoleAssignment",
    "UTCDateTime",
    "User",
]
