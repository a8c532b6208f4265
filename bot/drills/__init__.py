"""Drills and emergency readiness (应急演练与应急准备): scenarios (content/drills/*.yaml), desk
exercises in chat, live drills with key times and evaluation, findings that become hazard
tickets, the emergency plan register and emergency supplies."""
