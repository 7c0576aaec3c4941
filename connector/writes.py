"""Batched writes through sObject Collections, and what each record's result means.

`PATCH /composite/sobjects` takes up to 200 records per call with allOrNone false,
and answers one SaveResult per record in request order. Each is mapped to a
`WriteResult` — ok, transient (retry later), permanent (Salesforce's code, message
and what to do), or stale (a person changed the lead since we decided; not written).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterator, Literal, Mapping, Sequence

from .errors import classify, error_list
from .records import id18, parse_sf_datetime
from .soql import check_id, ident, sf_json_value

BATCH_SIZE = 200  # the sObject Collections limit
WriteKind = Literal["ok", "transient", "permanent", "stale"]


@dataclass(frozen=True, slots=True)
class WriteResult:
    id: str | None
    ok: bool
    kind: WriteKind
    code: str | None = None
    message: str | None = None
    fields: tuple[str, ...] = ()
    fix: str | None = None


@dataclass(frozen=True, slots=True)
class GuardedUpdate:
    """Field updates for one record, with the SystemModstamp the decision was made on."""

    id: str
    fields: Mapping[str, Any]
    seen_modstamp: str | datetime


@dataclass(slots=True)
class WriteReport:
    """Totals for a log line; the per-record list is what callers act on."""

    ok: int = 0
    transient: int = 0
    permanent: int = 0
    stale: int = 0
    codes: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, results: Sequence[WriteResult]) -> WriteReport:
        report = cls()
        for r in results:
            setattr(report, r.kind, getattr(report, r.kind) + 1)
            if r.code:
                report.codes[r.code] = report.codes.get(r.code, 0) + 1
        return report


def batches(items: Sequence[Any], size: int = BATCH_SIZE) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def record_body(sobject: str, record: Mapping[str, Any], *, with_id: bool) -> dict[str, Any]:
    """One record of a collection request: attributes, id, fields as Salesforce JSON."""
    body: dict[str, Any] = {"attributes": {"type": sobject}}
    for name, value in record.items():
        if name.lower() == "id":
            if with_id:
                body["id"] = check_id(value)
            continue
        if name == "attributes":
            continue
        body[ident(name)] = sf_json_value(value)
    if with_id and "id" not in body:
        raise ValueError(f"an update of {sobject} needs an 'Id' in every record: {dict(record)!r:.200}")
    return body


def collection_body(sobject: str, records: Sequence[Mapping[str, Any]], *, with_id: bool) -> dict[str, Any]:
    ident(sobject, what="object")
    if len(records) > BATCH_SIZE:
        raise ValueError(f"{len(records)} records in one collection call; the limit is {BATCH_SIZE}")
    return {
        "allOrNone": False,
        "records": [record_body(sobject, r, with_id=with_id) for r in records],
    }


def result_of(save_result: Mapping[str, Any], fallback_id: str | None) -> WriteResult:
    """Map one SaveResult to a WriteResult, classifying its first error."""
    rid = save_result.get("id") or fallback_id
    if save_result.get("success"):
        return WriteResult(rid, True, "ok")
    errors = error_list(save_result.get("errors"))
    failure = classify(errors[0])
    kind: WriteKind = "transient" if failure.kind == "transient" else "permanent"
    message = "; ".join(str(e.get("message", "")) for e in errors)
    return WriteResult(rid, False, kind, failure.code, message, failure.fields, failure.fix)


def stale_verdicts(
    batch: Sequence[GuardedUpdate], current: Mapping[str, Any]
) -> tuple[list[WriteResult | None], list[dict[str, Any]]]:
    """Compare each update's seen SystemModstamp with the org's `current` one (by 18-char id).

    Returns one verdict per update — a "stale" WriteResult, or None for "write it" —
    and the records to write. A person's edit always wins over our decision.
    """
    verdicts: list[WriteResult | None] = []
    fresh: list[dict[str, Any]] = []
    for u in batch:
        now = current.get(id18(u.id))
        if now is None:
            verdicts.append(WriteResult(u.id, False, "stale", "ENTITY_IS_DELETED", "the record no longer exists"))
        elif parse_sf_datetime(now) != parse_sf_datetime(u.seen_modstamp):
            verdicts.append(
                WriteResult(
                    u.id, False, "stale", "CHANGED_SINCE_DECISION",
                    f"modified at {now}, after the decision made on {u.seen_modstamp}; not overwritten",
                )
            )
        else:
            verdicts.append(None)
            fresh.append({"Id": u.id, **u.fields})
    return verdicts, fresh
