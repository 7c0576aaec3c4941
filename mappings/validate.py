"""Mappings checked against the org's describe(), before any record is read.

Every mapped field must exist with the exact spelling the org uses (records come
back keyed by it, so `company` would silently read nothing); write-back fields must
be updateable; picklist values that maps use or that the router writes must exist.
Relationship paths are followed through `referenceTo` when those objects are
described too.
"""
from __future__ import annotations

from functools import cache
import re
from pathlib import Path
from typing import Any, Callable, Iterable

from rules.model import Response, Role, RoutingStatus, Tier

from .errors import Problem, fix_meant
from .filters import filter_fields
from .kinds import READ_KINDS
from .object_mapping import ObjectMapping
from .spec import UNSET
from .transforms import map_key

# which Salesforce field types can feed / receive each attribute type without surprise
_READ_OK = {
    "string": None,  # anything reads as text
    "id": {"id", "reference"},
    "int": {"int", "double", "currency", "percent", "long"},
    "float": {"int", "double", "currency", "percent", "long"},
    "bool": {"boolean"},
    "date": {"date", "datetime"},
    "datetime": {"datetime", "date"},
    "set": {"multipicklist", "picklist", "string", "textarea"},
    "list": {"multipicklist", "picklist", "string", "textarea"},
}
# Salesforce types whose values an attribute type can never read (a checkbox is never a
# number, an email never a date): an error, not the warning a text field holding numbers gets.
_TYPED = {"boolean", "date", "datetime", "time", "email", "url", "reference", "id", "int", "double", "currency",
          "percent", "long", "location", "address", "base64"}
_NEVER_READS = {
    "int": _TYPED - _READ_OK["int"],
    "float": _TYPED - _READ_OK["float"],
    "date": _TYPED - _READ_OK["date"],
    "datetime": _TYPED - _READ_OK["datetime"],
    "bool": _TYPED - _READ_OK["bool"] - {"int", "double", "long"},  # 0 and 1 read as a checkbox
    "id": _TYPED - _READ_OK["id"],
}
_WRITE_OK = {
    "id": {"reference", "id"},
    "string": {"string", "textarea", "picklist", "email", "url", "phone"},
    "int": {"int", "double", "long", "currency", "percent"},
    "float": {"double", "currency", "percent"},
    "datetime": {"datetime"},
    "date": {"date"},
    "bool": {"boolean"},
    "set": {"multipicklist"},
    "list": {"multipicklist", "string", "textarea"},
}
# values the router relies on reading back / writes: they must exist in the org's picklist
_READ_VALUES = {
    ("lead", "routing_status"): [s.value for s in RoutingStatus],
    ("lead", "response"): [r.value for r in Response],
    ("partner", "tier"): [t.value for t in Tier],
    ("partner", "role"): [r.value for r in Role],
}
# how salesforce/README.md deploys the package that brings the fields and values above
DEPLOY = "`sf project deploy start --source-dir salesforce/force-app --target-org <your org>`"
_WRITE_VALUES = {
    "routing_status": [s.value for s in RoutingStatus],
    "response": [r.value for r in Response],
}


_ADDRESS_CODE = re.compile(r"^(Billing|Shipping|Mailing|Other)?(Country|State)Code$", re.IGNORECASE)


def _address_picklists(sobject: str, part: str, path: tuple, fields: dict[str, dict]) -> tuple[str, str] | None:
    """(message, fix) for an address field mapped as in the other kind of org: with State and
    Country/Territory Picklists on, <prefix>CountryCode / <prefix>StateCode hold ISO codes
    and <prefix>Country / <prefix>State the labels; without them only the text fields exist."""
    code = _ADDRESS_CODE.match(part)
    if code is not None:
        text = part[:-4]
        if text not in fields:
            return None
        transform = "['country']" if code.group(2).lower() == "country" else "[{ subdivision = \"country\" }]"
        return (f"{sobject} has no field {part!r}: this org has no State and Country/Territory Picklists, "
                "so its addresses have no code fields",
                f"map it to {text!r}, the text people typed, with transforms = {transform} to read it as ISO codes "
                "(or turn the picklists on: Setup › State and Country/Territory Picklists)")
    # the attribute is country or state, or the field is named so ("Billing_Country__c"),
    # not any name holding the letters ("Statement__c")
    words = {str(p).lower() for p in path} | {w.lower() for w in re.split(r"_+|(?<=[a-z])(?=[A-Z])", part.removesuffix("__c"))}
    for kind in ("country", "state"):
        if kind in words:
            codes = [f for f in fields if f.endswith(kind.title() + "Code") and fields[f].get("type") == "picklist"]
            if not codes:
                return None
            names = " or ".join(repr(c[:-4]) for c in codes)
            return (f"{sobject} has no field {part!r}; this org has State and Country/Territory Picklists",
                    f"map {kind} to {' or '.join(codes)} (ISO codes), or to {names} (the labels the org keeps beside "
                    "them: 'Germany', 'Bavaria'); both read as ISO codes with the shipped transforms")
    return None


class _Org:
    """describe() answers, fetched once per object, case-forgiving lookups."""

    def __init__(self, describe: Callable[[str], dict] | dict[str, dict]):
        self._source = describe
        self._cache: dict[str, dict | None] = {}

    def known(self) -> list[str]:
        return list(self._source) if isinstance(self._source, dict) else list(self._cache)

    def get(self, sobject: str) -> dict | None:
        if sobject not in self._cache:
            try:
                if isinstance(self._source, dict):
                    found = self._source.get(sobject)
                    if found is None:
                        found = next((v for k, v in self._source.items() if k.lower() == sobject.lower()), None)
                else:
                    found = self._source(sobject)
            except Exception:  # simple-salesforce raises for an unknown sObject
                found = None
            self._cache[sobject] = found
        return self._cache[sobject]

    @staticmethod
    def fields(described: dict) -> dict[str, dict]:
        return {f["name"]: f for f in described.get("fields", [])}


class _Check:
    def __init__(self, mapping: ObjectMapping, org: _Org, out: list[Problem], converted: frozenset[str] = frozenset()):
        self.m = mapping
        self.org = org
        self.out = out
        self.converted = converted  # attributes read into the corporate currency (mappings/currency.py)

    def add(self, path: tuple, message: str, fix: str | None = None, severity: str = "error") -> None:
        self.out.append(self.m.problem(path, message, fix, severity))

    def resolve(self, path: tuple, sobject: str, dotted: str,
                absent: Callable[[], None] | None = None) -> dict | None:
        """The describe entry of `dotted` on `sobject`, or None after reporting why.
        The one place a field is found absent from the org: `absent` (an optional
        write-back field) is called instead of reporting that as an error."""
        described = self.org.get(sobject)
        if described is None:
            return None
        parts = dotted.split(".")
        fields = _Org.fields(described)
        for depth, part in enumerate(parts):
            last = depth == len(parts) - 1
            if last:
                entry = fields.get(part)
                if entry is None:
                    twin = next((f for f in fields if f.lower() == part.lower()), None)
                    if twin is not None:
                        self.add(path, f"{sobject} field is spelled {twin!r}, not {part!r}; records come back keyed by {twin!r}",
                                 f"write {twin!r}")
                    elif absent is not None:
                        absent()
                    elif depth == 0 and (sobject.lower(), part.lower()) in package_fields():
                        # a field leadrouter's package brings (an org on an earlier release's lacks it)
                        self.add(path, f"{sobject} has no field {part!r}",
                                 f"{part} comes with leadrouter's salesforce/ package: deploy this release's "
                                 f"({DEPLOY}) and give the integration user access to it (permission set "
                                 "LeadRouter_Integration); a field hidden from the integration user by field-level "
                                 "security is missing from describe too")
                    elif depth == 0 and (said := _address_picklists(sobject, part, path, fields)):
                        self.add(path, *said)
                    else:
                        self.add(path, f"{sobject} has no field {part!r}",
                                 fix_meant(part, fields,
                                           "use the field's API name from Setup › Object Manager › Fields (custom "
                                           "ones end in __c); a field hidden from the integration user by "
                                           "field-level security is missing from describe too"))
                    return None
                return entry
            rel = next((f for f in fields.values() if f.get("relationshipName") == part), None)
            if rel is None:
                names = [f["relationshipName"] for f in fields.values() if f.get("relationshipName")]
                self.add(path, f"{sobject} has no relationship {part!r} (in {dotted!r})",
                         fix_meant(part, names, "relationship names are the lookup field without Id/__c (OwnerId → "
                                                "Owner, Parent__c → Parent__r)"))
                return None
            targets = [self.org.get(t) for t in rel.get("referenceTo") or []]
            targets = [t for t in targets if t is not None]
            if not targets:
                self.add(path, f"cannot check {dotted!r}: no describe of {', '.join(rel.get('referenceTo') or ['its target'])}",
                         "pass that object's describe too", severity="warning")
                return None
            rest = ".".join(parts[depth + 1:])
            # polymorphic lookups (Owner → User or Group): the field must exist on one of them
            for target in targets:
                entry = self._quiet(target["name"], rest)
                if entry is not None:
                    return entry
            return self.resolve(path, targets[0]["name"], rest)
        return None

    def _quiet(self, sobject: str, dotted: str) -> dict | None:
        saved = list(self.out)
        entry = self.resolve((), sobject, dotted)
        self.out[:] = saved
        return entry

    def sobject(self) -> dict | None:
        name = self.m.spec.sobject
        described = self.org.get(name)
        if described is None:
            self.add(("sobject",), f"the org has no object {name!r} (or the integration user cannot see it)",
                     fix_meant(name, self.org.known(),
                               "check the API name, and that the integration user's profile can read it"))
        return described


def _currency_check(c: _Check, path: tuple, name: str, field_name: str, entry: dict, fields: dict) -> None:
    """A multi-currency org (its objects carry CurrencyIsoCode) answers a currency field in
    each record's own currency: a rule's `amount >= 100000` would take 100,000 JPY for a
    large deal and 90,000 GBP for a small one. Salesforce converts in formulas (CURRENCYRATE).
    A lead attribute the connector converts itself (the org's CurrencyType read: `converted`)
    is no such problem."""
    if entry.get("type") != "currency" or "CurrencyIsoCode" not in fields or "." in field_name:
        return
    if name in c.converted:  # the connector puts it in the corporate currency itself (mappings/currency.py)
        return
    c.add(path, f"the org has several currencies (CurrencyIsoCode): {field_name} holds each record's amount in its own "
                f"currency, so a rule comparing {name} with a number compares 100,000 EUR and 100,000 JPY alike",
          f"map {name} to a Number formula field of the amount in the corporate currency: "
          f"{field_name} / CURRENCYRATE(TEXT(CurrencyIsoCode))", severity="warning")


def _read_checks(c: _Check) -> None:
    described = c.sobject()
    if described is None:
        return
    own_fields = _Org.fields(described)
    sobject = c.m.spec.sobject
    if c.m.spec.filter:
        for name in filter_fields(c.m.spec.filter):
            c.resolve(("filter",), sobject, name)
    for table, attrs in (("fields", c.m.attrs), ("extra", c.m.extras)):
        for name, compiled in attrs.items():
            spec = compiled.spec
            entries = []
            if spec.flags is not None:
                for value, field_name in spec.flags.items():
                    entry = c.resolve((table, name, "flags", value), sobject, field_name)
                    if entry is not None and entry.get("type") != "boolean":
                        c.add((table, name, "flags", value), f"{field_name} is a {entry.get('type')} field, not a checkbox",
                              "flags read checkbox fields", severity="warning")
            for field_name in spec.field:
                entry = c.resolve((table, name, "field"), sobject, field_name)
                if entry is not None:
                    entries.append(entry)
                    if compiled.type in ("int", "float"):
                        _currency_check(c, (table, name, "field"), name, field_name, entry, own_fields)
                    ok = _READ_OK.get(compiled.type)
                    sf_type = entry.get("type")
                    if compiled.type == "date" and sf_type == "datetime" and not _parsed_by_transform(spec):
                        c.add((table, name, "field"),
                              f"{field_name} is a date-time field but {name} is a date: each value is read as its day "
                              "in UTC, as Salesforce's DATEVALUE does, so 02:30 UTC on 1 January is the 1st even "
                              "where the org's day is still the 31st of December",
                              f"map {name} to a Date field, or to a Date formula field of the org's day, e.g. "
                              f"DATEVALUE({field_name} - 5/24) for New York in winter", severity="warning")
                    if ok is not None and sf_type not in ok and not _parsed_by_transform(spec):
                        if sf_type in _NEVER_READS.get(compiled.type, ()):
                            # not one record could be read: every lead Unroutable, every partner left out
                            c.add((table, name, "field"),
                                  f"{field_name} is a {sf_type} field, which never holds a {compiled.type} value "
                                  f"for {name}: every record with a value there would be unroutable",
                                  f"point {name} at a field of type {' or '.join(sorted(ok))}")
                            continue
                        c.add((table, name, "field"),
                              f"{field_name} is a {sf_type} field but {name} is {compiled.type}; values that do not parse make the record unroutable",
                              "check the field, or add a transform (number, date) that parses it", severity="warning")
            _picklist_checks(c, table, name, compiled, entries)


def _parsed_by_transform(spec: Any) -> bool:
    return any(t.name in ("number", "date", "datetime", "split", "coverage", "map") for t in spec.transforms) or spec.map is not None


def _picklist_values(entry: dict) -> list[str]:
    return [p["value"] for p in entry.get("picklistValues") or [] if p.get("active", True)]


def _picklist_checks(c: _Check, table: str, name: str, compiled: Any, entries: list[dict]) -> None:
    spec = compiled.spec
    for entry in entries:
        if entry.get("type") not in ("picklist", "multipicklist"):
            continue
        values = _picklist_values(entry)
        folded = {map_key(v) for v in values}
        for key in (spec.map or {}):
            if map_key(key) not in folded:
                c.add((table, name, "map", key), f"{key!r} is not a value of {entry['name']}",
                      fix_meant(key, values, f"values: {', '.join(values)}"), severity="warning")
        expected = _READ_VALUES.get((c.m.kind.name, name))
        if expected:
            table_map = {map_key(k): v for k, v in (spec.map or {}).items()}
            seen = set()
            for v in values:
                fallback = v if spec.map_default is UNSET else spec.map_default
                seen.add(table_map.get(map_key(v), fallback))
            known = {e.casefold() for e in expected}
            unknown = sorted(str(s) for s in seen if s is not None and str(s).casefold() not in known)
            if unknown:
                c.add((table, name), f"{entry['name']} values {', '.join(map(repr, unknown))} mean nothing to the router "
                      f"(it knows {', '.join(expected)})",
                      f"add map = {{ \"{unknown[0]}\" = \"{expected[0]}\" }} (or the value it stands for)", severity="warning")


def _writeback_checks(c: _Check, wb: Any, only_optional: bool = False) -> None:
    """Every write-back field against the org. An optional one the org lacks, or the
    integration user may not edit, is a warning and is left out of every write (`wb`,
    the compiled write-back, learns which); `only_optional`: just those, at a start whose
    full check passed recently (jobs/preflight.py)."""
    if only_optional and not wb.optional:
        return
    described = c.sobject()
    if described is None:
        return
    sobject = c.m.spec.sobject
    lengths = wb.lengths
    left_out: set[str] = set()
    for table, attrs in (("fields", c.m.attrs), ("extra", c.m.extras)):
        for name, compiled in attrs.items():
            optional = compiled.spec.optional
            if only_optional and not optional:
                continue
            path = (table, name, "field")
            field_name = compiled.fields[0]
            where = f"[{c.m.kind.name}.{table}]"

            def absent(name: str = name, field_name: str = field_name, path: tuple = path, where: str = where) -> None:
                left_out.add(name)
                c.add(path, f"{sobject}.{field_name} is not in the org (or field-level security hides it from the "
                      f"integration user); {name} is optional, so leadrouter runs without writing it",
                      f"deploy the field (salesforce/ ships the product's fields) and give the integration user "
                      f"access to it (permission set LeadRouter_Integration), then restart; or remove {name} "
                      f"from {where}", severity="warning")

            entry = c.resolve(path, sobject, field_name, absent=absent if optional else None)
            if entry is None:
                continue
            if not entry.get("updateable", False):
                if optional:
                    left_out.add(name)
                    c.add(path, f"{sobject}.{field_name} is not editable by the integration user; {name} is "
                          "optional, so leadrouter runs without writing it",
                          f"give the integration user edit access to {field_name} (permission set "
                          f"LeadRouter_Integration, or field-level security: Edit), then restart; or remove {name} "
                          f"from {where}", severity="warning")
                    continue
                c.add(path, f"{sobject}.{field_name} is not updateable for the integration user",
                      f"give the integration user edit access to {field_name} (field-level security), "
                      f"or remove {name} from {where}")
            ok = _WRITE_OK.get(compiled.type)
            if ok is not None and entry.get("type") not in ok:
                c.add(path, f"{field_name} is a {entry.get('type')} field; {name} writes {compiled.type}",
                      "point it at a field of a matching type")
            length = entry.get("length") or None
            if compiled.type == "string" and length and entry.get("type") in ("string", "textarea"):
                mine = compiled.spec.length
                if mine is None:
                    lengths[name] = length  # learnt from the org: cut text to what fits
                elif mine > length:
                    c.add((table, name, "length"), f"length {mine} is longer than {field_name} ({length})",
                          f"write length = {length}")
            expected = _WRITE_VALUES.get(name)
            if expected and entry.get("type") == "picklist":
                values = _picklist_values(entry)
                table_map = {map_key(k): v for k, v in (compiled.spec.map or {}).items()}
                for value in expected:
                    written = table_map.get(map_key(value), value)
                    if written not in values:
                        # the package brings the value only to its own fields, not to an org's field mapped here
                        ours = (sobject.lower(), field_name.lower()) in package_fields()
                        deploy = (f"deploy this leadrouter's salesforce/ package, whose {field_name} has it ({DEPLOY}; "
                                  "an org upgraded from an earlier release lacks the values added since), or "
                                  if ours else "")
                        c.add((table, name), f"{field_name} has no picklist value {written!r}, which the router writes",
                              fix_meant(str(written), values,
                                        f"{deploy}add it to " + ("the" if ours else f"{field_name}'s") + " picklist, or map it: "
                                        f"map = {{ {value} = \"<your value>\" }}"))
    wb.leave_out(left_out)


@cache
def package_fields() -> frozenset[tuple[str, str]]:
    """(object, field), lowercased, of the custom fields the shipped mappings read and write:
    the fields salesforce/ brings, which an org on an earlier release's package may lack.
    Read from the shipped files themselves (not through the loader, which validates with
    this module): every field name of each table that names its sobject."""
    import tomllib

    out: set[tuple[str, str]] = set()

    def names(value: Any) -> Iterable[str]:
        if isinstance(value, str):
            if _CUSTOM_FIELD.fullmatch(value):
                yield value
        elif isinstance(value, list):
            for v in value:
                yield from names(v)
        elif isinstance(value, dict):
            yield from names(value.get("field"))

    def walk(table: dict[str, Any], sobject: str | None) -> None:
        sobject = table.get("sobject") if isinstance(table.get("sobject"), str) else sobject
        for key, value in table.items():
            if isinstance(value, dict) and "field" not in value:
                walk(value, sobject)
            elif sobject and key not in ("sobject", "filter"):
                out.update((sobject.lower(), f.lower()) for f in names(value))

    for path in sorted((Path(__file__).parent / "defaults").glob("*.toml")):
        walk(tomllib.loads(path.read_text(encoding="utf-8")), None)
    return frozenset(out)


_CUSTOM_FIELD = re.compile(r"[A-Za-z]\w*__c")


def validate(ms: Any, describe: Callable[[str], dict] | dict[str, dict]) -> list[Problem]:
    org = _Org(describe)
    out: list[Problem] = []
    for kind in READ_KINDS:
        mapping = ms.objects.get(kind)
        if mapping is not None:
            currencies = getattr(ms, "currencies", None) if kind == "lead" else None
            _read_checks(_Check(mapping, org, out, currencies.attributes if currencies is not None else frozenset()))
    _writeback_checks(_Check(ms.objects["writeback"], org, out), ms._writeback)
    return out


def optional_writeback(ms: Any, describe: Callable[[str], dict] | dict[str, dict]) -> list[Problem]:
    """Only the optional write-back fields against the org (one describe, none when the
    mapping has none): which of them are left out of writes, each named in a warning."""
    out: list[Problem] = []
    _writeback_checks(_Check(ms.objects["writeback"], _Org(describe), out), ms._writeback, only_optional=True)
    return out


def picklist_options(describe: Callable[[str], dict] | dict[str, dict], sobject: str,
                     fields: tuple[str, ...]) -> list[tuple[str, str]]:
    """(field, value) for the active values of `fields` on `sobject` when every one of them
    is a picklist or multi-select picklist of the org; [] otherwise (a text field, a
    relationship path, an object or field describe does not know)."""
    described = _Org(describe).get(sobject)
    if described is None or not fields:
        return []
    by_name = _Org.fields(described)
    out: list[tuple[str, str]] = []
    for name in fields:
        entry = by_name.get(name)
        if entry is None or entry.get("type") not in ("picklist", "multipicklist"):
            return []
        out += [(name, v["value"]) for v in entry.get("picklistValues") or () if v.get("active", True) and v.get("value")]
    return out
