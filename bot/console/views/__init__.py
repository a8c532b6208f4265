"""Console pages, one module per section; each request runs in one database transaction
(committed when the response is not an error) and state changes go through the features'
own functions. Importing this package registers every page on `bp`."""

from __future__ import annotations

from bot.console.views import (  # noqa: F401 - each module registers its pages on bp
    activities,
    asked,
    audit,
    broadcast,
    contests,
    dashboard,
    drills,
    events,
    hazards,
    inspections,
    learning,
    login,
    pledges,
    points,
    progress,
    questions,
    submissions,
    suggestions,
)
from bot.console.views.common import bp
from bot.console.views.dashboard import dashboard_charts

__all__ = ["bp", "dashboard_charts"]
