"""Persistence: engines and transactions (`database`), units of work that retry a lost race
(`retry`), the schema (`models`, `types`), migrations (`migrate`, `migrations/`), stored flow
versions (`flow_versions`) and small query helpers (`participants`, `messages`, `bulk`).

Imports: SQLAlchemy, Alembic and `survey_flows` (flow versions are parsed flows). Never `bot`
or `reports`.
"""
