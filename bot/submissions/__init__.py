"""The safety essay and photo contest (安全征文 / 安全随手拍): contests, entries, review, votes
and results. Chat is handlers/submissions.py; the console is bot/console/views/submissions.py.
"""
