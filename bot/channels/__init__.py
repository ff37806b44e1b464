"""Channel adapters: SMS through Twilio and Telegram, pure of storage.

- `bot.channels.base`: `InboundMessage`, `OutboundMessage`, `SendResult`, the `SendError`
  family (`Retry`, `OptedOut`, `Permanent`), `BadWebhook` and the `Sender` protocol.
- `bot.channels.twilio`: `TwilioSettings`, `TwilioSender`, `verify_signature`,
  `parse_inbound`, `parse_status`.
- `bot.channels.telegram`: `TelegramSettings`, `TelegramSender`, `parse_update`,
  `secret_ok`, `button_value`.
- `bot.channels.rendering`: how a message reads as plain text, and splitting long texts.
"""
