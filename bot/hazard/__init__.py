"""Hazard reports (隐患上报) and the hazard ledger (隐患台账), for every entry point.

states     the status machine and the status words (status_label)
labels     categories and action names
ledger     the rules: creating, assigning, moving reports, who is told; the overdue job
notices    the cards and notice texts the ledger sends
queries    reads (a session in, never a commit)
export     the ledger's rows (one builder for the export and the campaign summary) and XLSX
photos, points, people, tickets, stats
"""
