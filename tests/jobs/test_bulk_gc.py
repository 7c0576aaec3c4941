"""The bulk first run's garbage collection: rare automatic collections while it runs, a
page's cycles collected when the page is done, and the collector as it was afterwards."""
from __future__ import annotations

import gc
import weakref

from jobs import bulk_intake


class _Node:
    pass


def test_a_pages_cycles_go_when_it_is_done_and_the_collector_is_put_back():
    before = gc.get_threshold()
    with bulk_intake.few_collections():
        assert gc.get_threshold()[0] >= 200_000 and gc.get_freeze_count() > 0
        a, b = _Node(), _Node()
        a.other, b.other = b, a  # a cycle: reference counting alone never frees it
        gone = weakref.ref(a)
        del a, b
        assert gone() is not None
        bulk_intake.page_done()
        assert gone() is None
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
