"""Channel adapters: SMS and WhatsApp through Twilio, and Telegram, pure of storage.

- `bot.channels.base`: `InboundMessage`, `OutboundMessage`, `SendResult`, the `SendError`
  family (`Retry`, `OptedOut`, `Permanent`), `BadWebhook` and the `Sender` protocol.
- `bot.channels.twilio`: `TwilioSettings`, `TwilioSender`, `verify_signature`,
  `parse_inbound` (SMS and WhatsApp), `parse_status`.
- `bot.channels.whatsapp`: `WhatsAppSender` (free-form or template sends), `OutsideWindow`.
- `bot.channels.telegram`: `TelegramSettings`, `TelegramSender`, `parse_update`,
  `secret_ok`, `button_value`.
- `bot.channels.rendering`: how a message reads as plain text, and splitting long texts.
- `bot.channels.segments`: GSM-7 places and SMS segments, fitting sentences into a few.
- `bot.channels.simulator`: the sender behind the staff simulator and `chat`.

Imports: `survey_flows` (its plain message values) and the providers' libraries only;
never `storage`, `reports` or another wing of `bot`.
"""
