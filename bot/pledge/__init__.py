"""安全生产责任书: which text applies to whom, signing, signing rounds and their reminders.

One module per idea: texts (versions, hashes), members (who signs what), signing, cards,
rounds, reminders (the job), completion (figures), export, stats. Import from those.
"""

# Re-exported only for callers outside the feature that still import the package
# (bot/console/data.py, bot/console/testing.py, bot/console/views.py, bench/reports.py).
from bot.pledge.completion import completion_counts
from bot.pledge.texts import current_texts, sync_texts

__all__ = ["completion_counts", "current_texts", "sync_texts"]
