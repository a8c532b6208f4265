"""Hazard reports (隐患上报) and the hazard ledger (隐患台账): the logic behind handlers.hazard."""
