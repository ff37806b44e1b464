"""Running check-ins on the host side of the pure engine: the engine decides, these modules
load what it needs and write what it decided.

- `receiving`: one inbound message, recorded once, answered (`receive`, `Received`);
- `inbound`: `receive` in one retried unit of work, for webhooks and polling (`handle`);
- `starting`: starting one check-in or many in bulk (`start_checkin(s)`, `StartRequest`);
- `waking`: firing a due reminder or expiry (`wake_checkin`);
- `outcomes`: applying an outcome, the one place state is saved (`apply`);
- `alerts`: storing alerts and telling coordinators;
- `recipients`: which address reaches a participant;
- `engine_context`: what the engine is told of a person and a channel.

Imports: `bot.channels`, `bot.delivery.outbox`, `bot.people`, `bot.schedule.time_zones`,
`bot.settings`, `storage`, `survey_flows`.
"""
