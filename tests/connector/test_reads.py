from datetime import datetime, timedelta, timezone

import pytest

from connector.reads import by_ids_queries, deleted_query, incremental_query

RUN_START = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def test_incremental_query_reads_from_watermark_minus_lookback_up_to_run_start_in_order():
    q = incremental_query("Lead", ["Company"], watermark=datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc),
                          until=RUN_START, lookback=timedelta(minutes=5))
    assert q == ("SELECT Company, Id, SystemModstamp FROM Lead WHERE (SystemModstamp >= 2024-05-01T09:55:00+00:00)"
                 " AND (SystemModstamp < 2024-05-01T12:00:00+00:00) ORDER BY SystemModstamp, Id")


def test_no_watermark_is_a_backfill_bounded_by_run_start():
    q = incremental_query("Lead", ["Id", "SystemModstamp"], watermark=None, until=RUN_START,
                          lookback=timedelta(minutes=5), where="IsConverted = false OR Status = 'Open'")
    assert q == ("SELECT Id, SystemModstamp FROM Lead WHERE (SystemModstamp < 2024-05-01T12:00:00+00:00)"
                 " AND (IsConverted = false OR Status = 'Open') ORDER BY SystemModstamp, Id")


def test_a_naive_run_start_is_refused():
    with pytest.raises(ValueError, match="no timezone"):
        incremental_query("Lead", ["Id"], watermark=None, until=datetime(2024, 5, 1), lookback=timedelta(0))


def test_ids_are_deduplicated_in_18_character_form():
    [q] = list(by_ids_queries("Lead", ["Company"], ["001A0000006Vm9r", "001A0000006Vm9rIAC"]))
    assert q == "SELECT Company, Id FROM Lead WHERE Id IN ('001A0000006Vm9rIAC')"


def test_2000_ids_need_only_a_handful_of_queries():
    ids = [f"00Q{n:012d}AAA" for n in range(2000)]
    queries = list(by_ids_queries("Lead", ["Company", "OwnerId", "Routing_Status__c"], ids))
    assert len(queries) == 5


def test_deleted_query_bounds_the_recycle_bin_window():
    q = deleted_query("Lead", RUN_START - timedelta(hours=1), RUN_START)
    assert q == ("SELECT Id FROM Lead WHERE (IsDeleted = true) AND (SystemModstamp >= 2024-05-01T11:00:00+00:00)"
                 " AND (SystemModstamp < 2024-05-01T12:00:00+00:00)")
