"""Groundswell."""
