"""Bringing existing records in from CSV files: reading and checking CSV text with
line-numbered problems (`csv_files`), the participant roster (`roster`) and answers
collected before Groundswell (`answers`).

Imports: `storage`, `survey_flows`, `bot.settings`. Never `bot.web` or `bot.commands`.
"""
