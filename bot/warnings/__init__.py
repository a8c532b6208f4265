"""Risk warnings and broadcasts.

templates (content/warnings.yaml), cap (the CAP 1.2 parser), feed (the feed fetch),
publish (recipients and sending), acks (the 收到 card and follow-ups), cap_alerts (CAP alerts
to warnings), jobs (scheduled bodies), stats (figures).
"""
