"""The shape of a mapping file, as pydantic models that forgive what humans write.

Forgiven: an attribute given as a bare field name (`company = "Company"`) or a list
of fields (first non-empty wins); key and type names in any case; common synonyms
(`checkbox` for bool, `multipicklist` for set, `fields` for `field`); a single
transform where a list is expected; `required = "yes"`. Everything else is an error
the loader turns into a Problem with file, line and a did-you-mean.
"""
from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

TYPES = ("string", "int", "float", "bool", "date", "datetime", "set", "list", "id")
TYPE_ALIASES = {
    "str": "string", "text": "string", "textarea": "string", "picklist": "string",
    "email": "string", "url": "string", "phone": "string", "string": "string",
    "int": "int", "integer": "int", "whole": "int",
    "float": "float", "double": "float", "number": "float", "decimal": "float",
    "currency": "float", "percent": "float",
    "bool": "bool", "boolean": "bool", "checkbox": "bool",
    "date": "date", "datetime": "datetime", "timestamp": "datetime",
    "set": "set", "multipicklist": "set", "multiselect": "set", "multi-select": "set",
    "multiselectpicklist": "set",
    "list": "list", "tuple": "list",
    "id": "id", "reference": "id", "lookup": "id",
}

# transform name → the option keys it takes (the first is its shorthand value)
TRANSFORMS: dict[str, tuple[str, ...]] = {
    "trim": (), "lower": (), "upper": (), "postal": (), "email_domain": (), "domain": (),
    "country": (), "coverage": (), "number": (),
    "subdivision": ("country",),  # the attribute holding the record's country
    "split": ("separator",),
    "map": ("values", "default"),
    "date": ("format",), "datetime": ("format",),
}
TRANSFORM_ALIASES = {
    "strip": "trim", "lowercase": "lower", "uppercase": "upper", "postcode": "postal",
    "zip": "postal", "state": "subdivision", "iso_country": "country", "value_map": "map",
    "values": "map", "parse_date": "date", "parse_datetime": "datetime", "parse_number": "number",
    "email-domain": "email_domain", "emaildomain": "email_domain",
}

ATTRIBUTE_KEYS = (
    "field", "constant", "flags", "type", "transforms", "map", "map_default",
    "required", "default", "split", "length", "optional", "note",
)
ATTRIBUTE_KEY_ALIASES = {
    "fields": "field", "transform": "transforms", "values": "map", "value_map": "map",
    "separator": "split", "description": "note", "comment": "note", "checkboxes": "flags",
    "max_length": "length", "if_present": "optional", "if_exists": "optional",
}
OBJECT_KEYS = ("sobject", "filter", "fields", "extra", "note")
OBJECT_KEY_ALIASES = {"object": "sobject", "where": "filter", "description": "note",
                      "extras": "extra", "attributes": "fields"}

UNSET: Any = type("Unset", (), {"__repr__": lambda self: "UNSET", "__bool__": lambda self: False})()
_FIELD_PATH = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$")
_TRUE = {"true", "yes", "y", "on", "1"}
_FALSE = {"false", "no", "n", "off", "0"}


def canonical_keys(raw: dict, known: tuple[str, ...], aliases: dict[str, str]) -> dict:
    """Keys folded to lower case and synonyms resolved; unknown keys are kept as written."""
    out: dict = {}
    for key, value in raw.items():
        low = key.lower() if isinstance(key, str) else key
        name = aliases.get(low, low)
        out[name if name in known else key] = value
    return out


class TransformSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    options: dict[str, Any] = {}

    @model_validator(mode="before")
    @classmethod
    def _forgive(cls, data: Any) -> Any:
        if isinstance(data, TransformSpec):
            return data
        if isinstance(data, str):
            return {"name": data, "options": {}}
        if isinstance(data, dict) and "name" not in data:
            # { map = {...}, default = "x" } or { date = "%d/%m/%Y" }: the first key
            # that is a transform name names it, its value is the shorthand option
            keys = [k for k in data if _transform_name(k) in TRANSFORMS]
            if len(keys) != 1:
                raise ValueError(
                    "a transform table needs exactly one transform name as a key, e.g. "
                    "{ map = { Hot = \"hot\" }, default = \"cold\" }; known transforms: "
                    + ", ".join(TRANSFORMS)
                )
            name = _transform_name(keys[0])
            shorthand = data[keys[0]]
            options = {k.lower(): v for k, v in data.items() if k != keys[0]}
            params = TRANSFORMS[name]
            if params and shorthand is not True:
                options.setdefault(params[0], shorthand)
            values = options.get("values")
            if name == "map" and isinstance(values, list) and all(isinstance(x, list) and len(x) == 2 for x in values):
                options["values"] = {str(k): v for k, v in values}  # pairs: a table written the long way
            return {"name": name, "options": options}
        return data

    @field_validator("name")
    @classmethod
    def _known(cls, value: str) -> str:
        name = _transform_name(value)
        if name not in TRANSFORMS:
            raise ValueError(f"unknown transform {value!r}")
        return name

    @model_validator(mode="after")
    def _options(self) -> TransformSpec:
        allowed = TRANSFORMS[self.name]
        wrong = [k for k in self.options if k not in allowed]
        if wrong:
            takes = ", ".join(allowed) if allowed else "no options"
            raise ValueError(f"transform {self.name!r} does not take {', '.join(wrong)} (it takes {takes})")
        if self.name == "map" and not isinstance(self.options.get("values"), dict):
            raise ValueError("transform 'map' needs a table of values, e.g. { map = { Hot = \"hot\" } }")
        return self


def _transform_name(value: Any) -> str:
    low = str(value).strip().lower().replace(" ", "_")
    return TRANSFORM_ALIASES.get(low, low)


class AttributeSpec(BaseModel):
    """One routing attribute and where its value comes from."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    field: tuple[str, ...] = ()
    constant: Any = UNSET
    flags: dict[str, str] | None = None
    type: str | None = None
    transforms: tuple[TransformSpec, ...] = ()
    map: dict[str, Any] | None = None
    map_default: Any = UNSET
    required: bool = False
    default: Any = UNSET
    split: str | None = None
    length: int | None = None
    # write-back only: a field the org may lack (or the integration user may not edit) is
    # left unwritten with a warning instead of stopping the start (mappings/validate.py)
    optional: bool = False
    note: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"field": data}
        if isinstance(data, list) and all(isinstance(x, str) for x in data):
            return {"field": data}
        if isinstance(data, dict):
            return canonical_keys(data, ATTRIBUTE_KEYS, ATTRIBUTE_KEY_ALIASES)
        raise ValueError(
            f"{data!r} does not say where the value comes from; write a field name "
            "(\"Company\"), a list of them ([\"MobilePhone\", \"Phone\"]) or a table "
            "({ field = \"Company\", transforms = [\"trim\"] })"
        )

    @field_validator("field", mode="before")
    @classmethod
    def _fields(cls, value: Any) -> Any:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)) or not items:
            raise ValueError("field must be a Salesforce field name, or a list of them (first non-empty wins)")
        out = []
        for item in items:
            if not isinstance(item, str) or not _FIELD_PATH.match(item.strip()):
                raise ValueError(
                    f"{item!r} is not a Salesforce field name; write e.g. \"Company\", "
                    "\"Partner_Tier__c\" or a relationship path like \"Owner.IsActive\""
                )
            out.append(item.strip())
        return tuple(out)

    @field_validator("type", mode="before")
    @classmethod
    def _type(cls, value: Any) -> Any:
        if value is None:
            return None
        name = TYPE_ALIASES.get(str(value).strip().lower())
        if name is None:
            raise ValueError(f"unknown type {value!r}; use one of: {', '.join(TYPES)}")
        return name

    @field_validator("transforms", mode="before")
    @classmethod
    def _transforms(cls, value: Any) -> Any:
        return [value] if isinstance(value, (str, dict)) else value

    @field_validator("required", "optional", mode="before")
    @classmethod
    def _yes_no(cls, value: Any) -> Any:
        if isinstance(value, str):
            low = value.strip().lower()
            if low in _TRUE:
                return True
            if low in _FALSE:
                return False
        return value

    @field_validator("map", mode="before")
    @classmethod
    def _map(cls, value: Any) -> Any:
        # a list of pairs, [["Hot", "hot"], …], is a table written the long way
        if isinstance(value, list) and all(isinstance(x, list) and len(x) == 2 for x in value):
            return {str(k): v for k, v in value}
        return value

    @field_validator("length")
    @classmethod
    def _length(cls, value: int | None) -> int | None:
        if value is not None and value < 1:
            raise ValueError("length must be at least 1")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> AttributeSpec:
        sources = [bool(self.field), self.constant is not UNSET, self.flags is not None]
        if sum(sources) != 1:
            raise ValueError(
                "say where the value comes from with exactly one of: field = \"Api_Name__c\", "
                "constant = <value>, flags = { Value = \"Checkbox__c\", … }"
            )
        if self.flags is not None:
            for value, name in self.flags.items():
                if not isinstance(name, str) or not _FIELD_PATH.match(name):
                    raise ValueError(f"flags: {value!r} must name a checkbox field, got {name!r}")
        return self

    @property
    def fields_read(self) -> tuple[str, ...]:
        """Every Salesforce field this attribute reads."""
        if self.flags is not None:
            return tuple(self.flags.values())
        return self.field


class ObjectSpec(BaseModel):
    """One object group: where records come from and what each attribute means."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    sobject: str
    filter: str | None = None
    # attributes are validated one by one by the loader, so one bad attribute does
    # not hide the problems of the others
    fields: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    note: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return canonical_keys(data, OBJECT_KEYS, OBJECT_KEY_ALIASES)
        return data

    @field_validator("fields", "extra", mode="before")
    @classmethod
    def _table_of_attributes(cls, value: Any) -> Any:
        # [[lead.fields]] rows with an `attribute` key are the same table written as a list
        if isinstance(value, list) and all(isinstance(x, dict) for x in value):
            out = {}
            for row in value:
                row = dict(row)
                name = row.pop("attribute", None) or row.pop("name", None)
                if not isinstance(name, str):
                    raise ValueError("each [[…fields]] row needs attribute = \"<name>\"")
                out[name] = row
            return out
        return value

    @field_validator("sobject")
    @classmethod
    def _sobject(cls, value: str) -> str:
        if not re.match(r"^[A-Za-z][A-Za-z0-9_]*$", value.strip()):
            raise ValueError(f"{value!r} is not an sObject API name (e.g. Lead, Account, Opportunity)")
        return value.strip()

    @field_validator("filter")
    @classmethod
    def _filter(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("filter is empty; remove the key to read every record, or write a SOQL condition like IsPartner = true")
        return value.strip() if value is not None else None
