"""describe() of the objects in use: fetched once per run, cached, and read for mappings.

Mappings validation asks whether a field exists, its type, whether the integration
user may update it, its picklist values and what it references; `FieldInfo` answers
that without the caller walking Salesforce's describe JSON.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True, slots=True)
class FieldInfo:
    name: str
    exists: bool
    type: str | None = None  # Salesforce's type: string, picklist, multipicklist, reference, datetime…
    label: str | None = None
    updateable: bool = False
    createable: bool = False
    nillable: bool = True
    length: int | None = None
    picklist_values: tuple[str, ...] = ()  # active values only
    restricted_picklist: bool = False
    references: tuple[str, ...] = ()  # referenceTo: e.g. ("User", "Group") for Lead.OwnerId
    relationship_name: str | None = None
    suggestion: str | None = None  # closest existing name when `exists` is false


class SchemaCache:
    def __init__(self, fetch: Callable[[str], dict[str, Any]]):
        self._fetch = fetch
        self._describes: dict[str, dict[str, Any]] = {}
        self._fields: dict[str, dict[str, dict[str, Any]]] = {}

    def describe(self, sobject: str) -> dict[str, Any]:
        key = sobject.lower()
        if key not in self._describes:
            doc = self._fetch(sobject)
            self._describes[key] = doc
            self._fields[key] = {f["name"].lower(): f for f in doc.get("fields", ())}
        return self._describes[key]

    def refresh(self) -> None:
        """Forget every describe: the next use fetches again (e.g. at the start of a run)."""
        self._describes.clear()
        self._fields.clear()

    def cached(self) -> list[str]:
        return [d.get("name", k) for k, d in self._describes.items()]

    def field(self, sobject: str, name: str) -> FieldInfo:
        self.describe(sobject)
        fields = self._fields[sobject.lower()]
        raw = fields.get(name.lower())
        if raw is None:
            names = [f["name"] for f in fields.values()]
            # the connector stands alone (DESIGN.md): the files people edit get their
            # did-you-mean from rules.errors; here the closest spelling is enough
            close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
            return FieldInfo(name=name, exists=False, suggestion=close[0] if close else None)
        return FieldInfo(
            name=raw["name"],
            exists=True,
            type=raw.get("type"),
            label=raw.get("label"),
            updateable=bool(raw.get("updateable")),
            createable=bool(raw.get("createable")),
            nillable=bool(raw.get("nillable", True)),
            length=raw.get("length") or None,
            picklist_values=tuple(
                p["value"] for p in raw.get("picklistValues") or () if p.get("active", True)
            ),
            restricted_picklist=bool(raw.get("restrictedPicklist")),
            references=tuple(raw.get("referenceTo") or ()),
            relationship_name=raw.get("relationshipName"),
        )

    def fields(self, sobject: str) -> list[str]:
        self.describe(sobject)
        return [f["name"] for f in self._fields[sobject.lower()].values()]
