"""An org's field and object definitions, as describe() reports them.

Built by `sandbox.standard` (the standard objects) and `sandbox.metadata` (custom
fields from the SFDX source), gathered by `sandbox.schema`; defined here, below all
three, so that none of them imports another to name them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# describe types the sandbox knows; anyType is the History objects' Old/NewValue, combobox
# a picklist that takes any text too (Task.Subject)
FIELD_TYPES = frozenset(
    "id string textarea picklist multipicklist boolean int double currency percent "
    "date datetime reference email phone url combobox anyType".split()
)


@dataclass
class FieldDef:
    name: str
    type: str
    label: str
    length: int = 0
    precision: int = 0
    scale: int = 0
    updateable: bool = True
    createable: bool = True
    nillable: bool = True
    picklist_values: list[str] = field(default_factory=list)
    restricted_picklist: bool = False
    reference_to: list[str] = field(default_factory=list)
    # a lookup's two sides: the parent relationship this record's queries walk up
    # (`Referring_Account__r.Name`) and the child relationship its parent's subqueries name
    # (`(SELECT … FROM Referred_Leads__r)`); a custom lookup's metadata names only the child
    relationship_name: str | None = None
    child_relationship_name: str | None = None
    required: bool = False
    default: Any = None
    custom: bool = False
    # beyond the shared contract: field history tracking and describe extras
    track_history: bool = False
    calculated: bool = False  # Name on Lead/Contact/User: derived, never written
    # a formula field's formula (sandbox/formula.py): evaluated when the record is read, by the
    # org's clock; nothing is stored for it and no write reaches it
    formula: str | None = None
    description: str | None = None
    # a unique field: an insert or update repeating another live record's value is refused
    # (DUPLICATE_VALUE), compared case-insensitively unless case_sensitive
    unique: bool = False
    case_sensitive: bool = False
    external_id: bool = False
    # a dependent picklist (StateCode): the field whose value decides which of its values
    # apply, and each value's (value, label, controlling value) in describe's order; a
    # value may repeat for another controlling value ('WA': Washington, Western Australia)
    controller_name: str | None = None
    picklist_entries: list[tuple[str, str, str | None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.type not in FIELD_TYPES:
            raise ValueError(f"field {self.name}: unknown type {self.type!r}; use one of {sorted(FIELD_TYPES)}")


@dataclass
class ObjectDef:
    name: str
    label: str
    key_prefix: str
    custom: bool
    fields: dict[str, FieldDef]
    label_plural: str = ""
    createable: bool = True
    updateable: bool = True
    deletable: bool = True

    def __post_init__(self) -> None:
        self._reindex()

    def _reindex(self) -> None:
        self._by_lower = {name.lower(): f for name, f in self.fields.items()}
        self._by_rel = {f.relationship_name.lower(): f for f in self.fields.values() if f.relationship_name}

    def add_field(self, f: FieldDef) -> None:
        self.fields[f.name] = f
        self._reindex()

    def field(self, name: str) -> FieldDef | None:
        return self._by_lower.get(name.lower())

    def relationship(self, name: str) -> FieldDef | None:
        return self._by_rel.get(name.lower())
