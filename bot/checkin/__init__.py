"""Check-ins: the daily 打卡, events with a 6-digit code (optionally a place), drill surveys.

One module per idea: daily, events (kinds, creating, finding), attendance, surveys (the
job), export, stats. Import from those.
"""

# Re-exported only for a caller outside the feature that still imports the package
# (bot/console/actions.py).
from bot.checkin.events import create_event

__all__ = ["create_event"]
