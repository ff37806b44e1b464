"""Time: the clock that starts due check-ins and wakes waiting ones (`clock`), coordinators'
weekly summaries (`summaries`) and quiet hours (`quiet_hours`).

Imports: `bot.checkins`, `bot.delivery`, `bot.channels`, `bot.settings`, `storage`,
`reports` (summary figures only), `survey_flows`.
"""
