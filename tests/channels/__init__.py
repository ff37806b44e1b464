"""Tests of the channel adapters against the fake providers, with the real clients."""
