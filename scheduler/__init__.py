"""Scheduled jobs: plain functions (`scheduler.jobs`), one registry (`scheduler.registry`)."""
