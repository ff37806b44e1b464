"""Getting messages to and from providers: the outbox (`outbox`), the worker that drains it
(`worker`), per-provider rate limits (`rate_limits`), the configured senders (`senders`),
Telegram long polling (`telegram_polling`) and WhatsApp's 24-hour window
(`whatsapp_window`).

Imports: `bot.channels`, `bot.checkins` (polling hands updates over), `bot.settings`,
`storage`, `survey_flows`.
"""
