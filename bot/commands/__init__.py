"""Command groups of the `groundswell` CLI, one module per command (loaded lazily by
`bot.cli`). Imports: any other wing of `bot`, `storage`, `reports` and `survey_flows`,
heavy ones inside the command that needs them; nothing imports `bot.commands` except
`bot.cli`.
"""
