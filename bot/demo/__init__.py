"""The demo: a made-up cohort of residents and how they answer (`cohort`, pure), written
into a database as weeks of check-ins, answers, messages and alerts (`seeding`).

Imports: `storage`, `survey_flows`.
"""
