"""Residents as people: joining by code (`joining`), enrolment in flows (`enrolment`),
opting out and back in, the one place it is done (`opt_out`), and finding, exporting and
forgetting someone (`privacy`).

Imports: `storage`, `survey_flows`, `bot.settings`, `bot.channels.base`, `bot.delivery.outbox`
(queueing), and `bot.checkins.starting` (a joiner's welcome).
"""
