"""The fault suite: a simulated week of check-ins with processes killed, providers failing
and PostgreSQL stopped, compared at the end with what the residents sent and received."""
