"""MappingSet: the loaded mappings, as jobs and the rules engine use them."""
from __future__ import annotations

from typing import Any, Callable

from rules import model

from .converter import Unroutable, Warn, build_converter
from .errors import MappingError, Problem, meant
from .kinds import KINDS, PY_TYPES, READ_KINDS
from .object_mapping import ObjectMapping
from .writeback import Writeback

Describe = Callable[[str], dict] | dict[str, dict]


class MappingSet:
    def __init__(self, objects: dict[str, ObjectMapping], warnings: list[Problem] | None = None):
        self.objects = objects
        self.warnings = list(warnings or [])
        lead = objects.get("lead")
        read_from = {n: c.fields[0] for n, c in lead.attrs.items() if len(c.fields) == 1} if lead else {}
        self._writeback = Writeback(objects["writeback"], read_from)
        self.currencies: Any = None  # mappings/currency.OrgCurrencies in a multi-currency org
        self.field_labels: dict[str, str] | None = None  # the lead object's fields: API name → label, once known

    def use_labels(self, labels: dict[str, str]) -> None:
        """The labels of the lead object's fields (API name → label, from the org's describe):
        the reasons name the org's fields by them, as the admin sees them on the page."""
        self.field_labels = dict(labels)
        self._writeback.use_labels(self.field_labels)

    def label(self, field: str) -> str:
        """A lead field as the page shows it: its label where the org gave one, else its API name."""
        return (self.field_labels or {}).get(field) or field

    def use_currencies(self, currencies: Any) -> None:
        """Read each lead's currency, and give its amounts in the corporate currency
        (mappings/currency.py); None: a single-currency org."""
        self.currencies = currencies

    # -- what to read -------------------------------------------------------------
    def _object(self, kind: str) -> ObjectMapping:
        try:
            return self.objects[kind]
        except KeyError:
            raise KeyError(f"unknown mapping kind {kind!r}" + meant(kind, KINDS)) from None

    def sobject(self, kind: str) -> str:
        return self._object(kind).spec.sobject

    def filter(self, kind: str) -> str | None:
        return self._object(kind).spec.filter

    def soql_fields(self, kind: str) -> list[str]:
        """Every field to SELECT for `kind`, the id field first, each once."""
        mapping = self._object(kind)
        out: dict[str, None] = {}
        id_attr = mapping.attrs.get("id")
        if id_attr is not None:
            out.update(dict.fromkeys(id_attr.fields))
        for compiled in (*mapping.attrs.values(), *mapping.extras.values()):
            out.update(dict.fromkeys(compiled.fields))
        if kind == "lead" and self.currencies is not None and self.currencies.attributes:
            from .currency import CURRENCY_FIELD

            out[CURRENCY_FIELD] = None
        return list(out)

    def source_fields(self, kind: str) -> dict[str, tuple[str, ...]]:
        """attribute → the Salesforce fields it is read from (extras included)."""
        mapping = self._object(kind)
        return {name: tuple(c.fields) for name, c in (*mapping.attrs.items(), *mapping.extras.items())}

    def file(self, kind: str) -> str:
        return self._object(kind).file

    # -- records → model ----------------------------------------------------------
    def _converter(self, kind: str, build: Callable[..., Any], warn: Warn | None) -> Callable[[dict], Any]:
        mapping = self._object(kind)
        names = list(mapping.kind.attrs)
        standard = [mapping.attrs.get(n) for n in names]
        return build_converter(mapping.kind, mapping.spec.sobject, standard, list(mapping.extras.values()), build, warn)

    def lead_converter(self, warn: Warn | None = None) -> Callable[[dict], model.Lead | Unroutable]:
        """record dict → Lead, or Unroutable with `<field>: <why>`. `warn(id, message)`
        hears about values dropped but not fatal (an unknown country on an optional field)."""
        from .currency import in_corporate_currency

        return in_corporate_currency(self._converter("lead", model.Lead, warn), self.currencies)

    def partner_converter(self, warn: Warn | None = None) -> Callable[[dict], model.Partner | Unroutable]:
        """record dict → Partner; a capacity, daily cap or weight of 0 or less is warned
        about, naming the account and the value, and a negative one read as 0 (limits.py)."""
        from .limits import checked_partners

        attrs = self._object("partner").attrs
        labels = {name: attrs[name].label for name in ("capacity", "daily_cap", "weight") if name in attrs}
        whole = {name: attrs[name].fields for name in ("capacity", "daily_cap") if name in attrs}
        return checked_partners(self._converter("partner", model.Partner, warn), labels, warn, whole)

    def rep_converter(self, warn: Warn | None = None) -> Callable[[dict], model.Rep | Unroutable]:
        return self._converter("rep", model.Rep, warn)

    def dealreg_converter(self, warn: Warn | None = None) -> Callable[[dict], model.DealRegistration | Unroutable]:
        return self._converter("dealreg", model.DealRegistration, warn)

    def pool_builder(self, queues: list[dict], members: list[dict], reps: list[Any],
                     warn: Warn | None = None) -> list[model.Pool]:
        """Queues + their GroupMember rows + reps → pools of active partner reps.

        `reps` are Rep objects or User records. Members that are not active partner
        reps (internal users, nested groups) do not make anyone a pool member.
        """
        rep_of: dict[str, model.Rep] = {}
        to_rep = self.rep_converter(warn)
        for rep in reps:
            rep = rep if isinstance(rep, model.Rep) else to_rep(rep)
            if isinstance(rep, model.Rep):
                rep_of[rep.id] = rep
            elif warn is not None:
                warn(rep.record_id, rep.reason)
        queue_row = self._converter("pool", lambda *v: v, warn)
        member_row = self._converter("pool_member", lambda *v: v, warn)
        pools: dict[str, tuple] = {}
        for q in queues:
            row = queue_row(q)
            if isinstance(row, Unroutable):
                if warn is not None:
                    warn(row.record_id, row.reason)
                continue
            pools[row[0]] = row
        reps_in: dict[str, set[str]] = {pid: set() for pid in pools}
        for m in members:
            row = member_row(m)
            if isinstance(row, Unroutable):
                if warn is not None:
                    warn(row.record_id, row.reason)
                continue
            group_id, member_id = row
            rep = rep_of.get(member_id)
            if group_id in reps_in and rep is not None and rep.active:
                reps_in[group_id].add(member_id)
        return [
            model.Pool(
                id=pid, name=name, developer_name=dev_name,
                member_rep_ids=frozenset(reps_in[pid]),
                member_partner_ids=frozenset(rep_of[r].partner_id for r in reps_in[pid]),
            )
            for pid, (_, name, dev_name) in pools.items()
        ]

    # -- types for rule expressions -------------------------------------------------
    def attribute_types(self, kind: str) -> dict[str, type]:
        mapping = self._object(kind)
        out = {name: PY_TYPES[attr.type] for name, attr in mapping.kind.attrs.items()}
        out.update({name: PY_TYPES[c.type] for name, c in mapping.extras.items()})
        return out

    def lead_attribute_types(self) -> dict[str, type]:
        return self.attribute_types("lead")

    def partner_attribute_types(self) -> dict[str, type]:
        return self.attribute_types("partner")

    def attribute_problem(self, kind: str, name: str) -> str | None:
        """None when `name` is an attribute of `kind`; else a message with the nearest one."""
        types = self.attribute_types(kind)
        if name in types:
            return None
        return f"unknown {kind} attribute {name!r}" + meant(name, self.mapped_attributes(kind) or types)

    def mapped_attributes(self, kind: str) -> list[str]:
        """Attributes that this org's files actually fill (standard and extra)."""
        mapping = self._object(kind)
        return [*mapping.attrs, *mapping.extras]

    def picklist_values(self, kind: str, describe: Describe) -> dict[str, tuple[str, ...]]:
        """attribute → the values it can take, for each attribute read from picklist fields of
        the org: the fields' active values run through the attribute's own transforms and map
        (so `Level 3` mapped to Gold gives Gold). An attribute read from any other kind of
        field is left out: its values are not known in advance."""
        from .validate import picklist_options

        mapping = self._object(kind)
        out: dict[str, tuple[str, ...]] = {}
        for name, compiled in (*mapping.attrs.items(), *mapping.extras.items()):
            options = picklist_options(describe, mapping.spec.sobject, compiled.fields)
            if not options:
                continue
            values: dict[str, None] = {}
            for field_name, value in options:
                got = compiled.getter({field_name: value})
                for v in got if isinstance(got, (frozenset, tuple, list)) else (got,):
                    if isinstance(v, str) and v:
                        values[v] = None
            out[name] = tuple(values)
        return out

    # -- model → writes ---------------------------------------------------------------
    def writeback(self, values: dict[str, Any]) -> dict[str, Any]:
        """{attribute: value} → {Salesforce field: JSON-ready value} for the lead.

        Attributes the org does not map are skipped; unknown names raise KeyError.
        """
        return self._writeback.encode(values)

    def decision_writeback(self, decision: model.Decision, routing_status: Any) -> dict[str, Any]:
        return self._writeback.decision(decision, routing_status)

    def cleared_answer(self) -> dict[str, Any]:
        """The updates that clear the partner's answer on the lead (response, reason, code:
        writeback.ANSWER), wherever the lead is offered on or put back; only the fields written."""
        return self._writeback.cleared_answer()

    def writeback_left_out(self) -> frozenset[str]:
        """Optional write-back attributes not written: the org lacks their field, or the
        integration user may not edit it (found by validate / ensure_optional_fields)."""
        return self._writeback.left_out

    def writeback_dropped_fields(self) -> frozenset[str]:
        """The Salesforce fields of writeback_left_out(): a write stored before they were
        left out (the outbox outlives a restart) goes out without them."""
        return self._writeback.dropped_fields()

    def leave_out_fields(self, fields: tuple[str, ...] | list[str]) -> frozenset[str]:
        """Salesforce refused a write naming `fields` (gone from the org, or no longer
        editable, since the start): when every one is an optional attribute's field, those
        attributes are left out from now on and returned; else nothing changes and the
        answer is empty (the refusal stands)."""
        wb = self._writeback
        names = wb.optional_named(fields)
        if names:
            wb.leave_out(wb.left_out | names)
        return names

    def writeback_sobject(self) -> str:
        return self._writeback.sobject

    def writeback_fields(self) -> dict[str, str]:
        """attribute → Salesforce field, for the attributes this org writes."""
        return self._writeback.fields()

    # -- against the org ----------------------------------------------------------------
    def validate(self, describe: Describe) -> list[Problem]:
        """Check every mapping against the org's describe(); errors and warnings."""
        from .validate import validate

        return validate(self, describe)

    def ensure_optional_fields(self, describe: Describe) -> list[Problem]:
        """The optional write-back fields alone against the org (a start whose full check
        passed recently): raises MappingError on an error, else returns the warnings, one
        per field left out of the writes."""
        from .validate import optional_writeback

        found = optional_writeback(self, describe)
        if any(p.is_error for p in found):
            raise MappingError(found)
        return found

    def ensure_valid(self, describe: Describe) -> list[Problem]:
        """validate() for start-up: raises MappingError when anything is an error,
        else returns the warnings (worth logging)."""
        found = self.validate(describe)
        if any(p.is_error for p in found):
            raise MappingError(found)
        return found


__all__ = ["MappingSet", "READ_KINDS"]
