"""Residents as people: finding one, exporting everything held about them and forgetting
them (`privacy`).

Imports: `storage`, `survey_flows`, `bot.settings`.
"""
