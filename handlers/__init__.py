"""Chat handlers: one module per feature, each with `register(router)`.

A handler is `(message, ctx) -> Reply | None` (commands also get their argument text); it
returns the reply and never sends. FEATURES lists every chat feature; add a module here.
"""

from __future__ import annotations

from types import ModuleType

from bot.router import Router
from handlers import (
    activity,
    checkin,
    drill_supplies,
    drills,
    hazard,
    hazard_officer,
    help,
    inspection,
    learning,
    pledge,
    qa,
    quiz,
    submissions,
    suggestion,
    warning,
)

# Registration order matters only for the fallback (help's) and equal-priority ties.
FEATURES: tuple[ModuleType, ...] = (
    help,
    hazard,
    hazard_officer,
    inspection,
    suggestion,
    warning,
    pledge,
    checkin,
    learning,
    drills,
    drill_supplies,
    submissions,
    activity,
    quiz,
    qa,
)


def build_router(features: tuple[ModuleType, ...] | None = None) -> Router:
    router = Router()
    for module in features or FEATURES:
        module.register(router)
    return router
