"""The host around the pure engine: everything that talks to residents, staff and the clock.

Wings, each a package named for what it holds (see docs/architecture.md):
`channels/` (provider adapters, no database), `checkins/` (running check-ins: receiving
messages, starting, waking, applying the engine's outcomes), `delivery/` (the outbox, its
worker, rate limits, senders, Telegram long polling), `schedule/` (the clock, weekly
summaries, quiet hours), `people/` (privacy: export and forget), `intake/` (CSV imports of
rosters and answers), `demo/` (the made-up demo cohort), `web/` (the Flask app), `commands/`
(the `groundswell` CLI, started from `cli.py`); `settings.py` is the environment.

Imports: `bot` may import `survey_flows`, `storage` and `reports`; nothing else imports `bot`.
"""
