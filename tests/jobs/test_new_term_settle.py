"""A leader back after losing the lock settles the outbox before its first job, as a new one does.

`run` hands each leadership term's scheduler a stop event, and the connector keeps it
(`LeadRouter.scheduled_jobs`); a term ends by setting it. The next term's settle
(`_first_as_leader`) ran under that set event, and the outbox flush, which stops on it,
wrote nothing: the pending writes a previous leader left waited for the first scheduled
run, after the lead stream had already decided again.
"""
from __future__ import annotations

import threading

from jobs.commands import _first_as_leader


class Connector:
    def __init__(self) -> None:
        self.stop = threading.Event()
        self.ran: list[tuple[str, bool]] = []  # (job, whether its stop was set when it ran)

    def snapshot_changed(self) -> None:
        pass

    def new_term(self) -> None:
        pass

    def run_job(self, name: str) -> None:
        self.ran.append((name, self.stop.is_set()))


def test_the_settle_of_a_second_term_is_not_stopped_by_the_first_terms_end():
    cx = Connector()
    cx.stop.set()  # the first term ended (its lock lost): its jobs' stop is set
    _first_as_leader(cx)
    assert cx.ran == [("outbox", False), ("sync_partners", False)]
