"""Persistence: engines and units of work (`database`), the schema (`models`), migrations
(`migrate`, `migrations/`), and small query helpers (`participants`, `messages`)."""
