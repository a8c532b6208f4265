"""All models, imported here so `Base.metadata` (and Alembic) sees every table.

Feature modules add their own `bot/models/<feature>.py` and one import line below.
"""

from bot.models.activity import (
    ActivityDelegate,
    ActivityPhoto,
    ActivityReport,
    ActivityReportEvent,
)
from bot.models.base import Base, UTCDateTime
from bot.models.checkin import CheckinEvent, DailyCheckin, DrillSurveyAnswer, EventAttendance
from bot.models.console import ConsoleAccount, ConsoleSession, LoginAttempt
from bot.models.core import (
    AccessToken,
    AuditLog,
    Conversation,
    DailyActivity,
    Department,
    InboundMessage,
    JobRun,
    MemberSendCount,
    OutboundMessage,
    OutboxBatch,
    OutboxDelivery,
    RoleAssignment,
    User,
)
from bot.models.hazard import (
    HazardPhoto,
    HazardPoints,
    HazardReport,
    HazardTransition,
    Suggestion,
    SuggestionReply,
    TicketCounter,
)
from bot.models.inspection import (
    InspectionAssignment,
    InspectionResult,
    InspectionRound,
    InspectionSchedule,
)
from bot.models.knowledge import QaFollowup, QuestionAsked, QuestionTicket
from bot.models.learning import LearningAssignment, LearningTask
from bot.models.pledge import (
    PledgeRound,
    PledgeRoundMember,
    PledgeSignature,
    PledgeText,
    PledgeView,
)
from bot.models.quiz import (
    Contest,
    ContestAnswer,
    ContestAttempt,
    Question,
    QuizAnswer,
    QuizDailySet,
    QuizReview,
)
from bot.models.warning import CapAlert, RiskWarning, WarningAck, WarningRecipient

__all__ = [
    "ActivityDelegate",
    "ActivityPhoto",
    "ActivityReport",
    "ActivityReportEvent",
    "ConsoleAccount",
    "ConsoleSession",
    "LoginAttempt",
    "Contest",
    "ContestAnswer",
    "ContestAttempt",
    "Question",
    "QuizAnswer",
    "QuizDailySet",
    "QuizReview",
    "HazardPhoto",
    "HazardPoints",
    "HazardReport",
    "HazardTransition",
    "Suggestion",
    "SuggestionReply",
    "TicketCounter",
    "InspectionAssignment",
    "InspectionResult",
    "InspectionRound",
    "InspectionSchedule",
    "CheckinEvent",
    "DailyCheckin",
    "DrillSurveyAnswer",
    "EventAttendance",
    "QaFollowup",
    "QuestionAsked",
    "QuestionTicket",
    "LearningAssignment",
    "LearningTask",
    "PledgeRound",
    "PledgeRoundMember",
    "PledgeSignature",
    "PledgeText",
    "PledgeView",
    "CapAlert",
    "RiskWarning",
    "WarningAck",
    "WarningRecipient",
    "AccessToken",
    "AuditLog",
    "Base",
    "Conversation",
    "DailyActivity",
    "Department",
    "InboundMessage",
    "JobRun",
    "MemberSendCount",
    "OutboundMessage",
    "OutboxBatch",
    "OutboxDelivery",
    "RoleAssignment",
    "UTCDateTime",
    "User",
]
