"""The quiz: question bank, answer parsing and shuffling, daily sets, scoring, contests.

Query functions take the session first and never commit (the caller owns the transaction).
"""
