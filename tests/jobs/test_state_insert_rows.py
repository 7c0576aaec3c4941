"""jobs.state.store.insert_rows stores exactly what SQLAlchemy's own executemany stores:
the same text for every datetime and JSON value, the same ids in the same order, and an
upsert's last row of a key wins — on SQLite and on PostgreSQL."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from jobs.state import Store, schema
from jobs.state import store as st
from rules.model import Decision, DecisionKind

from .pg import temp_database

NOW = datetime(2026, 3, 29, 1, 0, 0, 123456, tzinfo=timezone.utc)
PARIS = timezone(timedelta(hours=2))


def _decision(i: int) -> Decision:
    return Decision(lead_id=f"00Q{i:015d}", kind=DecisionKind.POOL if i % 3 else DecisionKind.OFFER,
                    reason=f"rule {i}: pool — ünïcode “quotes”", rule="r", partner_id=None if i % 2 else f"001{i:015d}",
                    offered_at=NOW, deadline=NOW + timedelta(hours=i % 4), attempt=1,
                    explanation={"rules": [{"rule": "r", "excluded": {"a": "b"}, "n": i / 7}], "set": None})


def _rows(n: int) -> dict[str, list[dict]]:
    stamps = [NOW - timedelta(microseconds=i * 977) for i in range(n)]
    stamps[1] = stamps[1].astimezone(PARIS)  # another zone: stored as UTC all the same
    return {
        "decisions": [{"lead_id": f"00Q{i:015d}", "at": NOW, "kind": "pool", "rule": None if i % 5 else "r",
                       "partner_id": None, "attempt": 1, "decision": _decision(i)} for i in range(n)],
        "offers": [{"lead_id": f"00Q{i:015d}", "kind": "pool", "partner_id": None, "rep_id": None,
                    "queue_id": "00G000000000001AAA", "owner_id": "00G000000000001AAA", "rule": "r", "attempt": 1,
                    "offered_at": NOW, "deadline": NOW + timedelta(hours=i % 4), "lead_modstamp": stamps[i],
                    "status": "live"} for i in range(n)],
        "leads": [{"lead_id": f"00Q{i % (n - 3):015d}", "state": "pooled", "attempt": i, "owner_id": None,
                   "reason": "x" * (i % 255), "modstamp": stamps[i], "status": "Open",
                   "record": {"Id": f"00Q{i:015d}", "Name": "Zoë", "n": i, "none": None}, "updated_at": NOW}
                  for i in range(n)],  # three keys repeat: the later row wins
        "outbox": [{"offer_id": None, "lead_id": f"00Q{i:015d}", "purpose": "pool",
                    "payload": {"OwnerId": "00G000000000001AAA", "Routing_Deadline__c": "2026-03-29T01:00:00.000+0000",
                                "Routing_Partner__c": None}, "seen_modstamp": None if i % 4 == 0 else stamps[i],
                    "status": "pending", "created_at": NOW, "updated_at": NOW, "attempts": 0} for i in range(n)],
    }


def _stored(store: Store, name: str) -> list[tuple]:
    with store.connect() as conn:
        if conn.dialect.name == "postgresql":  # JSON as the text stored, not parsed (equal dicts may differ in text)
            from psycopg.types.json import set_json_loads

            set_json_loads(lambda data: bytes(data).decode() if not isinstance(data, str) else data,
                           conn.connection.driver_connection)
        return [tuple(r) for r in conn.execute(text(f"SELECT * FROM {name} ORDER BY 1"))]  # raw: text, not types


def _as(tuples: bool, rows: list[dict]) -> dict:
    """The rows as insert_rows takes them: dicts, or tuples of named columns (in reverse
    order, so nothing rests on the table's own order)."""
    if not tuples:
        return {"rows": rows}
    names = list(rows[0])[::-1]
    return {"rows": [tuple(r[n] for n in names) for r in rows], "names": names}


def _compare(url_a: str, url_b: str, n: int, tuples: bool = False) -> None:
    ours, theirs = Store(url_a), Store(url_b)
    rows = _rows(n)
    try:
        with theirs.begin() as conn:
            conn.execute(schema.decisions.insert(), rows["decisions"])
            ids = {r.lead_id: r.id for r in conn.execute(schema.offers.insert().returning(
                schema.offers.c.id, schema.offers.c.lead_id), rows["offers"])}
            for r in rows["leads"]:  # one by one: the later row of a key wins
                conn.execute(text("DELETE FROM leads WHERE lead_id = :k"), {"k": r["lead_id"]})
                conn.execute(schema.leads.insert(), r)
            conn.execute(schema.outbox.insert(), rows["outbox"])
        with ours.begin() as conn:
            st.insert_rows(conn, schema.decisions, **_as(tuples, rows["decisions"]))
            got = dict((lead, oid) for oid, lead in st.insert_rows(conn, schema.offers, **_as(tuples, rows["offers"]),
                                                                   returning=("id", "lead_id")))
            st.upsert(conn, schema.leads, keys=["lead_id"], **_as(tuples, rows["leads"]))
            st.insert_rows(conn, schema.outbox, **_as(tuples, rows["outbox"]))
        assert got == ids
        for name in ("decisions", "offers", "leads", "outbox"):
            a, b = _stored(ours, name), _stored(theirs, name)
            assert len(a) == len(b) > 0
            assert a == b, name
        # whole rows read back by lead: the values a select of the table gives (aware datetimes, JSON)
        from sqlalchemy import select

        wanted = [r["lead_id"] for r in rows["offers"][::7]]
        with ours.connect() as conn:
            for table in (schema.offers, schema.leads, schema.outbox):
                got = st.rows_in(conn, table, "lead_id", wanted, order_by="lead_id")
                want = [dict(r._mapping) for r in conn.execute(
                    select(table).where(table.c.lead_id.in_(wanted)).order_by(table.c.lead_id))]
                assert got == want and len(got) >= 100, table.name
                assert any(isinstance(v, datetime) and v.tzinfo is not None for v in got[1].values())
    finally:
        ours.dispose()
        theirs.dispose()


@pytest.mark.parametrize("tuples", [False, True], ids=["dicts", "tuples"])
def test_sqlite_rows_are_sqlalchemys_own(tmp_path, tuples):
    _compare(f"sqlite:///{tmp_path}/a.sqlite", f"sqlite:///{tmp_path}/b.sqlite", 1_234, tuples)  # > one statement's rows


@pytest.mark.postgres
@pytest.mark.parametrize("tuples", [False, True], ids=["dicts", "tuples"])
def test_postgresql_rows_are_sqlalchemys_own(tuples):
    with temp_database() as a, temp_database() as b:
        _compare(a, b, 2_600, tuples)


def test_an_upsert_updates_and_a_naive_datetime_is_refused(tmp_path):
    store = Store(f"sqlite:///{tmp_path}/s.sqlite")
    try:
        with store.begin() as conn:
            st.upsert(conn, schema.watermarks, [{"name": "w", "value": NOW, "updated_at": NOW}], ["name"])
            st.upsert(conn, schema.watermarks, [{"name": "w", "value": NOW + timedelta(days=1), "updated_at": NOW}],
                      ["name"])
            assert st.get_watermark(conn, "w") == NOW + timedelta(days=1)
        with pytest.raises(ValueError, match="naive datetime"), store.begin() as conn:
            st.insert_rows(conn, schema.watermarks, [{"name": "x", "value": datetime(2026, 1, 1), "updated_at": NOW}])
    finally:
        store.dispose()


def _lookups(url_a: str, url_b: str) -> None:
    from sqlalchemy import select, update

    ours, theirs = Store(url_a), Store(url_b)
    rows = _rows(1_100)["outbox"]
    ids = list(range(1, 1_101, 2))
    try:
        for store in (ours, theirs):
            with store.begin() as conn:
                st.insert_rows(conn, schema.outbox, rows)
        with theirs.begin() as conn:
            for i in range(0, len(ids), 500):
                conn.execute(update(schema.outbox).where(schema.outbox.c.id.in_(ids[i:i + 500]))
                             .values(status="confirmed", updated_at=NOW.astimezone(PARIS), last_error="é"))
        with ours.begin() as conn:
            assert st.update_in(conn, schema.outbox, "id", ids, status="confirmed",
                                updated_at=NOW.astimezone(PARIS), last_error="é") == len(ids)
        assert _stored(ours, "outbox") == _stored(theirs, "outbox")
        leads = [r["lead_id"] for r in rows[::3]] + ["00Qnotthere"]
        with ours.connect() as conn:
            got = st.where_in(conn, schema.outbox, ("id", "status"), "lead_id", leads, order_by="id")
            want = [tuple(r) for r in conn.execute(select(schema.outbox.c.id, schema.outbox.c.status)
                                                   .where(schema.outbox.c.lead_id.in_(leads)).order_by(schema.outbox.c.id))]
        assert got == want and len(got) == 367 and {s for _, s in got} == {"pending", "confirmed"}
        # values that are not plain ids (a comma, a quote, a brace, a space, an empty one)
        # still find exactly their rows
        odd = ["a,b", "x'y", "{z}", "a b", "", '"q"']
        with ours.begin() as conn:
            st.insert_rows(conn, schema.outbox, [{**rows[0], "lead_id": v} for v in odd])
        with ours.connect() as conn:
            for wanted in (odd, ["a", "b"], ["a,b", *leads[:3]], [""]):
                got = st.where_in(conn, schema.outbox, ("lead_id",), "lead_id", wanted)
                assert sorted(v for (v,) in got if v in odd) == sorted(v for v in wanted if v in odd), wanted
    finally:
        ours.dispose()
        theirs.dispose()


def test_lookups_and_updates_by_ids_are_sqlalchemys_own_sqlite(tmp_path):
    _lookups(f"sqlite:///{tmp_path}/a.sqlite", f"sqlite:///{tmp_path}/b.sqlite")


@pytest.mark.postgres
def test_lookups_and_updates_by_ids_are_sqlalchemys_own_postgresql():
    with temp_database() as a, temp_database() as b:
        _lookups(a, b)


def test_a_payload_is_stored_as_jsonable_would_have_made_it():
    """jobs.lifecycle hands the write-back payload to the JSON column as it is: the column's
    serializer writes the same text as it did of jsonable(payload)."""
    from jobs.lifecycle import jsonable
    from rules.model import RoutingStatus
    from rules.serial import to_json

    payload = {"OwnerId": "00G000000000001AAA", "Routing_Status__c": RoutingStatus.OFFERED, "Routing_Attempt__c": 2,
               "Routing_Offered_At__c": NOW.astimezone(PARIS), "Close__c": NOW.date(), "Score__c": 0.1 + 0.2,
               "Tags__c": {"b", "a"}, "Pair__c": ("x", None), "Done__c": True, "Reason__c": "ünï — “x”", "N__c": None}
    assert to_json(payload) == to_json(jsonable(payload))


def _double_offer(url: str) -> None:
    from jobs.state import offers as of

    store = Store(url)
    rows = _rows(130)["offers"]  # more than PostgreSQL's staged batch takes (store._STAGE_FROM)
    try:
        with store.begin() as conn:
            of.insert_offer(conn, **rows[7])
            with pytest.raises(of.LiveOfferExists, match=rows[7]["lead_id"]):
                of.insert_offers(conn, rows)  # the batch fails as a whole, then one by one names the lead
            of.insert_offers(conn, rows[8:])  # the transaction is still good
        with store.connect() as conn:
            assert of.offer_status_counts(conn) == {"live": 130}  # the seven before it went in one by one
    finally:
        store.dispose()


def test_a_batch_with_a_second_live_offer_names_the_lead_sqlite(tmp_path):
    _double_offer(f"sqlite:///{tmp_path}/s.sqlite")


@pytest.mark.postgres
def test_a_batch_with_a_second_live_offer_names_the_lead_postgresql():
    with temp_database() as url:
        _double_offer(url)
