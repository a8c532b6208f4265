"""Inspections (隐患大排查): checklist templates (content/checklists), rounds assigned to
inspectors per department, item-by-item results, and a hazard ticket for every failed item.

A sub-feature placed above bot.hazard in the layers (pyproject.toml): a failed item opens its
ticket through the hazard ledger's own creation code (bot.hazard.ledger.create_report), so the
六定 flow, reminders and escalation apply unchanged. Nothing in bot.hazard imports it.
"""
