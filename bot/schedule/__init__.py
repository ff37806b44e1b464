"""Time: the clock that starts due check-ins and wakes waiting ones (`clock`), coordinators'
weekly summaries fitted to their channel (`summaries`), quiet hours (`quiet_hours`) and
whose time zone a time is read in (`time_zones`).

Imports: `bot.checkins`, `bot.delivery`, `bot.channels`, `bot.settings`, `storage`,
`reports` (summary sentences only), `survey_flows`.
"""
