"""Command groups of the `groundswell` CLI."""
