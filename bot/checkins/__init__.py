"""Running check-ins on the host side of the engine: one inbound message in one retried
unit of work (`inbound`).

Imports: `bot.channels`, `bot.delivery.outbox`, `bot.settings`, `storage`, `survey_flows`.
"""
