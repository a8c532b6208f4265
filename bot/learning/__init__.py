"""学习任务 and 警示教育: articles and accident cases from content/learning, links to the
organisation's own films and pages, assigned with a due date, confirmed and checked.

One module per idea: content (the loader and validator), tasks (assigning, opening,
confirming, answering), cards (what staff receive), reminders (the job), export, stats.
"""
