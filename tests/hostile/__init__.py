"""Hostile input: fuzzed webhooks, forged and replayed requests, hostile flow files."""
