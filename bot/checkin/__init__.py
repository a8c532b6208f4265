"""Check-ins: the daily 打卡, events with a 6-digit code (optionally a place), drill surveys.

One module per idea: daily, events (kinds, creating, finding), attendance, surveys (the
job), export, stats. Import from those.
"""
