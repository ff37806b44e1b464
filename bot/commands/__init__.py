"""Command groups of the `groundswell` CLI, one module per command (loaded lazily by
`bot.cli`). Commands may import any other wing of `bot`; nothing imports `bot.commands`
except `bot.cli`.
"""
