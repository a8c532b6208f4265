"""安全生产责任书: which text applies to whom, signing, signing rounds and their reminders.

One module per idea: texts (versions, hashes), members (who signs what), signing, cards,
rounds, reminders (the job), completion (figures), export, stats. Import from those.
"""
