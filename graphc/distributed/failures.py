"""One failing rank ends them all: the others would otherwise wait forever in a collective.

MPI cannot tell a rank that raised from a slow one, and a Python process that ends with an
exception still finalizes MPI, which waits for the other ranks. So a failing rank prints its
message, tagged with its rank, and calls MPI's Abort, which makes the launcher end every rank
with a non-zero status.
"""
from __future__ import annotations

import sys
import traceback
from contextlib import contextmanager
from typing import Iterator

from .group import ProcessGroup


def failure_message(group: ProcessGroup, error: BaseException) -> str:
    """The report of a rank that raised `error`: its traceback, then one line naming the rank."""
    trace = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return (f"{trace}graphc.distributed: rank {group.rank} of {group.size} failed with "
            f"{type(error).__name__}: {error}; aborting every rank")


@contextmanager
def abort_on_error(group: ProcessGroup) -> Iterator[None]:
    """Run the block; if it raises and the group has several ranks, abort them all with the
    rank's message. A single process re-raises, as without this guard."""
    try:
        yield
    except BaseException as error:
        if group.size == 1 or isinstance(error, SystemExit) and not error.code:
            raise
        group.abort(failure_message(group, error))


def abort_on_uncaught_exceptions(group: ProcessGroup) -> None:
    """Make an exception no code catches abort every rank (sys.excepthook) instead of
    leaving the others in their next collective."""
    def hook(kind, error, trace):
        group.abort(failure_message(group, error))

    sys.excepthook = hook
