"""The progress bar the long-running commands (imports, demo) show on stderr."""

from __future__ import annotations

import sys
from contextlib import ExitStack
from typing import Any

import click


class ProgressBar:
    """A progress bar on stderr, opened on the first report once the total is known.

    Called as ``progress(done, total)``; totals under ``from_total`` show no bar, so short
    jobs stay quiet. The bar is entered on ``stack``, which closes it when the job ends.
    """

    def __init__(self, stack: ExitStack, label: str, from_total: int = 0) -> None:
        """Report into a bar labelled ``label``, once a total of ``from_total`` is reached."""
        self.stack = stack
        self.label = label
        self.from_total = from_total
        self.bar: Any = None
        self.done = 0

    def __call__(self, done: int, total: int) -> None:
        """Move the bar to ``done`` of ``total``: the callback an import or the demo reports to."""
        if total < self.from_total:
            return
        if self.bar is None:
            bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
            self.bar = self.stack.enter_context(bar)
        self.bar.update(done - self.done)
        self.done = done
