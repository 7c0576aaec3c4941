"""Routing values → Salesforce field updates on the lead, JSON-ready.

Compiled once from [writeback]: one encoder per attribute. Text is cut to the
field's length with an ellipsis (a reason longer than Routing_Reason__c would fail
the whole write), datetimes go out in UTC the way Salesforce writes them.
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from enum import Enum
from typing import Any, Callable, Iterable

from rules.model import Decision, DecisionKind

from .errors import meant
from .object_mapping import ObjectMapping
from .sfid import to18
from .textlen import fit, sf_length
from .transforms import map_key

Encoder = Callable[[Any], Any]

# What a partner fills in answering an offer (the portal component writes all three): cleared
# together whenever the lead is offered on, so the next partner sees no earlier answer and the
# next poll does not read one as theirs. Who answered what stays in the Lead's field history
# (the shipped three are history-tracked) and in the offer's close reason in the state.
ANSWER = ("response", "rejection_reason", "rejection_code")


def format_datetime(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: pass a timezone-aware datetime (UTC)")
    utc = value.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


def truncate(text: str, length: int | None) -> str:
    return fit(text, length)


# How a reason tells the admin to have a lead routed again, in the shipped field's words
_SHIPPED_STATUS = ("Routing_Status__c", "Routing Status")
# lead attributes a reason names by their shipped field: its API name, or its label
_SHIPPED_LEAD_FIELDS = {"do_not_route": ("Do_Not_Route__c", "Do Not Route")}


def _pending_words(status: Any, labels: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """Where the routing status is another field, or Pending another word of the org's
    picklist, the reasons' "set Routing_Status__c to Pending" named a change that routes
    nothing: (the shipped words, the org's) to put in their place; none for the shipped
    mapping. The org's field by its label (`labels`: API name → label) where known."""
    if status is None:
        return []
    field = status.fields[0]
    pending = {map_key(k): v for k, v in (status.spec.map or {}).items()}.get(map_key("Pending"), "Pending")
    if field == _SHIPPED_STATUS[0] and pending == "Pending":
        return []
    shown = (labels or {}).get(field) or field
    return [(f"{shipped} {verb} Pending", f"{shown} {verb} {pending}")
            for shipped in _SHIPPED_STATUS for verb in ("set to", "to")]


# the reasons that begin with the status they give the lead ("Escalated: …", "Unroutable: …",
# rules/outcomes.py): in an org with its own status words, the reason says the org's word
_STATUS_LEADS = ("Escalated", "Unroutable")


def _status_words(status: Any) -> list[tuple[str, str]]:
    """(the router's word as a reason begins with it, the org's) where the org's differs."""
    if status is None:
        return []
    mapped = {map_key(k): v for k, v in (status.spec.map or {}).items()}
    out = []
    for word in _STATUS_LEADS:
        theirs = mapped.get(map_key(word))
        if isinstance(theirs, str) and theirs and theirs != word:
            out.append((f"{word}: ", f"{theirs}: "))
    return out


def fit_reason(text: str, limit: int | None, instructions: Iterable[str]) -> str:
    """A reason in the org's words cut to `limit`, its closing instruction whole: the released
    reasons leave room for it in the shipped words ("…; to have it routed again, set Routing
    Status to Pending: …"), and the org's own field and word can be longer. Where the part
    after the last "; " names one of `instructions`, the part before gives way, with "…",
    as the released reasons cut their names and details; otherwise the end is cut."""
    if limit is None or sf_length(text) <= limit:
        return text
    head, sep, tail = text.rpartition("; ")
    room = limit - sf_length(sep + tail)
    if sep and room > 1 and any(words in tail for words in instructions):
        return fit(head, room) + sep + tail
    return fit(text, limit)


class Writeback:
    def __init__(self, mapping: ObjectMapping, read_from: dict[str, str] | None = None):
        """`read_from`: lead attribute → the field the org's [lead] mapping reads it from, for
        the reasons that name one (do_not_route: 'Do_Not_Route__c ticked by a person')."""
        self.mapping = mapping
        self.sobject = mapping.spec.sobject
        self.lengths: dict[str, int | None] = {}
        self._mapped: dict[str, tuple[str, Encoder]] = {}
        self._read_from = dict(read_from or {})
        self._pending_words = self._org_words(None)
        self._status_words = _status_words(mapping.attrs.get("routing_status"))
        for name, compiled in {**mapping.attrs, **mapping.extras}.items():
            self.lengths[name] = compiled.spec.length
            self._mapped[name] = (compiled.fields[0], self._encoder(name, compiled.type, compiled.spec.map))
        self._encoders = dict(self._mapped)
        self.known = set(mapping.kind.attrs) | set(mapping.extras)
        self.optional = frozenset(n for n, c in {**mapping.attrs, **mapping.extras}.items() if c.spec.optional)
        self.left_out: frozenset[str] = frozenset()

    def _org_words(self, labels: dict[str, str] | None) -> list[tuple[str, str]]:
        read_from = self._read_from
        return _pending_words(self.mapping.attrs.get("routing_status"), labels) + [
            (said, (labels or {}).get(read_from[attr]) or read_from[attr])
            for attr, (shipped, label) in _SHIPPED_LEAD_FIELDS.items()
            if read_from.get(attr) not in (None, shipped) for said in (shipped, label)]

    def use_labels(self, labels: dict[str, str]) -> None:
        """Name the org's own fields in the reasons by their labels (API name → label, from
        the org's describe of the Lead), as the admin sees them on the page."""
        self._pending_words[:] = self._org_words(labels)  # in place: the reason's encoder reads this list

    def leave_out(self, names: set[str] | frozenset[str]) -> None:
        """Stop writing these optional attributes (their field is not in the org or not
        editable by the integration user; validate said so). Replaces the previous set: a
        check against an org that has the fields again writes them again."""
        wrong = set(names) - self.optional
        if wrong:
            raise ValueError(f"only optional write-back attributes can be left out, not {', '.join(sorted(wrong))}")
        self.left_out = frozenset(names)
        # one dict, replaced whole: threads encoding meanwhile see the old set or the new
        self._encoders = {n: e for n, e in self._mapped.items() if n not in self.left_out}

    def dropped_fields(self) -> frozenset[str]:
        """The Salesforce fields of the attributes left out: taken out of writes decided
        (and stored in the outbox) before they were left out."""
        return frozenset(self._mapped[n][0] for n in self.left_out)

    def optional_named(self, fields: Iterable[str]) -> frozenset[str]:
        """The optional attributes written to `fields` (Salesforce's names, any case), or
        nothing when one of them is not an optional attribute's field."""
        by_field = {f.lower(): n for n, (f, _) in self._mapped.items() if n in self.optional}
        names = [by_field.get(str(f).lower()) for f in fields]
        if not names or None in names:
            return frozenset()
        return frozenset(n for n in names if n is not None)

    def field(self, name: str) -> str | None:
        entry = self._encoders.get(name)
        return entry[0] if entry else None

    def fields(self) -> dict[str, str]:
        return {name: f for name, (f, _) in self._encoders.items()}

    def _encoder(self, name: str, type_name: str, value_map: dict | None) -> Encoder:
        """One function per attribute, specialised to its type once: a decision's payload
        runs ten of these, so a chain of type tests per value is paid ten times a lead."""
        table = {map_key(k): v for k, v in (value_map or {}).items()}

        if table:
            def plain(v: Any) -> Any:
                if isinstance(v, Enum):
                    v = v.value
                return table.get(map_key(v), v)
        else:
            def plain(v: Any) -> Any:
                return v.value if isinstance(v, Enum) else v

        if type_name == "id":
            def encode(v: Any) -> Any:
                if v is None:
                    return None
                v = plain(v)
                out = to18(str(v))
                if out is None:
                    raise ValueError(f"write-back {name}: {v!r} is not a Salesforce id")
                return out
        elif type_name == "string" and name == "reason" and (self._pending_words or self._status_words):
            lengths, words, statuses = self.lengths, self._pending_words, self._status_words

            def encode(v: Any) -> Any:
                if v is None:
                    return None
                text = str(plain(v))
                for ours, theirs in (*words, *statuses):
                    text = text.replace(ours, theirs)
                return fit_reason(text, lengths.get(name), [theirs for _, theirs in words])
        elif type_name == "string":
            lengths = self.lengths

            def encode(v: Any) -> Any:
                return None if v is None else truncate(str(plain(v)), lengths.get(name))
        elif type_name in ("int", "float", "bool"):
            cast = {"int": int, "float": float, "bool": bool}[type_name]

            def encode(v: Any) -> Any:
                return None if v is None else cast(plain(v))
        elif type_name == "datetime":
            # a run's decisions share their moments (`now`, a deadline per offer window):
            # the text of the last one is kept
            # (one tuple, replaced whole: threads sharing the mappings never see half of it)
            last: list[tuple[Any, Any]] = [(None, None)]

            def encode(v: Any) -> Any:
                if v is None:
                    return None
                seen, text = last[0]
                if v is seen:
                    return text
                got = plain(v)
                if not isinstance(got, datetime):
                    raise ValueError(f"write-back {name}: expected a datetime, got {got!r}")
                text = format_datetime(got)
                last[0] = (v, text)
                return text
        elif type_name == "date":
            def encode(v: Any) -> Any:
                if v is None:
                    return None
                v = plain(v)
                return v.isoformat() if isinstance(v, date) else str(v)
        elif type_name in ("set", "list"):
            ordered = sorted if type_name == "set" else list

            def encode(v: Any) -> Any:
                return None if v is None else ";".join(str(x) for x in ordered(plain(v)))
        else:
            def encode(v: Any) -> Any:
                return None if v is None else plain(v)

        return encode

    def encode(self, values: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in values.items():
            entry = self._encoders.get(name)
            if entry is None:
                if name in self.known:
                    continue  # a standard attribute this org does not keep: nothing to write
                raise KeyError(f"unknown write-back attribute {name!r}" + meant(name, self.known))
            out[entry[0]] = entry[1](value)
        return out

    def decision_values(self, decision: Decision, routing_status: Any) -> dict[str, Any]:
        values: dict[str, Any] = {
            "routing_status": routing_status,
            "reason": decision.reason,
            "rule": decision.rule,
            "attempt": decision.attempt,
        }
        kind = decision.kind
        if kind is DecisionKind.OFFER or kind is DecisionKind.POOL:
            owner = decision.rep_id if kind is DecisionKind.OFFER else decision.queue_id
            if owner:
                values["owner_id"] = owner
            values["partner_id"] = decision.partner_id if kind is DecisionKind.OFFER else None
            values["offered_at"] = decision.offered_at
            values["deadline"] = decision.deadline
            values["calendar"] = decision.calendar  # the calendar the window was promised in
            # a new offer starts clean: the previous partner's answer must not be read as this one's
            values.update(dict.fromkeys(ANSWER))
        elif kind is DecisionKind.ESCALATE or kind is DecisionKind.FALLBACK:
            if decision.queue_id:
                values["owner_id"] = decision.queue_id
            values["partner_id"] = None
            values["deadline"] = None  # no offer is running: nothing may lapse
            values["calendar"] = None
        return values

    def decision(self, decision: Decision, routing_status: Any) -> dict[str, Any]:
        return self.encode(self.decision_values(decision, routing_status))

    def cleared_answer(self) -> dict[str, Any]:
        """The field updates that clear the partner's answer (ANSWER), for the fields written."""
        return self.encode(dict.fromkeys(ANSWER))
