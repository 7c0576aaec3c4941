"""Load a Salesforce Data Export (Lead.csv, Account.csv, User.csv, …) into a sandbox org,
so ops can try routing rules on a copy of their own data.

The export's files carry a header row of field API names and the source org's ids
(15 or 18 chars). Every record gets a new sandbox id; every reference in the export
(OwnerId, AccountId, ParentId, GroupMember.UserOrGroupId, …) is rewritten to the new
id, whatever order the records come in — references to records imported later are
filled in once those exist. Queues the sandbox already has (same DeveloperName) are
reused rather than duplicated.

Nothing aborts the import: a column the sandbox does not know is skipped with a
warning, a value the org would refuse (a malformed date or number among them) is dropped
from its row with a warning naming file, line, column and value, and a row that cannot
be created at all is reported as an error. Salesforce's Data Import Wizard too reports
each refused value by row and imports the rest of the file; it refuses the row where
this keeps it with the value blank, because a lead missing one date still routes, and
trying rules on it is what the import is for.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox import ids
from sandbox.errors import SalesforceError

# Parents before children so most references resolve on the spot; what still points
# forward (User.AccountId/ContactId, Account.ParentId) is patched in a second pass.
IMPORT_ORDER = ("User", "Group", "QueueSobject", "GroupMember", "Account", "Contact", "Opportunity", "Lead")
# columns every export has that are the org's bookkeeping, not data to carry over
_BOOKKEEPING = frozenset(("Id", "IsDeleted", "SystemModstamp", "LastViewedDate", "LastReferencedDate"))
_NUMBERS = frozenset(("double", "currency", "percent", "int"))
_DATES = frozenset(("date", "datetime"))
_DATE_FORMS = {"date": "YYYY-MM-DD, e.g. 2026-06-30", "datetime": "YYYY-MM-DDThh:mm:ssZ, e.g. 2026-06-30T09:00:00Z"}
_TRUE = frozenset(("true", "1", "yes", "y", "on"))
_FALSE = frozenset(("false", "0", "no", "n", "off"))


@dataclass(frozen=True)
class Issue:
    file: str
    line: int  # 1-based line in the file where the row starts; 1 is the header
    column: str | None
    message: str
    severity: str  # "error": the row was not imported; "warning": imported without this value

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" + (f" column {self.column}" if self.column else "")
        return f"{self.severity}: {where}: {self.message}"


@dataclass
class ImportSummary:
    counts: dict[str, int] = field(default_factory=dict)  # sobject -> records created (or reused queues)
    id_map: dict[str, str] = field(default_factory=dict)  # export id (18 chars) -> sandbox id
    issues: list[Issue] = field(default_factory=list)
    skipped_columns: dict[str, list[str]] = field(default_factory=dict)  # file -> columns not imported

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    def new_id(self, export_id: str) -> str | None:
        """The sandbox id of a record from the export (15- or 18-char id)."""
        try:
            return self.id_map.get(ids.to18(export_id))
        except ValueError:
            return None


@dataclass
class _Row:
    file: str
    line: int
    export_id: str | None
    values: dict[str, str]


def _read(path: Path, summary: ImportSummary) -> tuple[list[str], list[_Row]]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # Data Export offers other encodings; Windows-1252 is the usual one
        summary.issues.append(Issue(path.name, 1, None, f"not UTF-8 ({exc.reason} at byte {exc.start}); read as "
                                    f"Windows-1252 — choose UTF-8 encoding when exporting to keep every character",
                                    "warning"))
        text = raw.decode("cp1252", errors="replace")
    # newline="" lets the csv module keep line breaks inside quoted values (multi-line Street)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        summary.issues.append(Issue(path.name, 1, None, "empty file: expected a header row of field API names", "warning"))
        return [], []
    rows = []
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            summary.issues.append(Issue(path.name, start, None, f"unreadable CSV row ({exc})", "error"))
            continue
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            summary.issues.append(Issue(path.name, start, None, f"{len(cells)} values for {len(header)} columns; "
                                        f"a quote is probably not closed or escaped", "error"))
            continue
        values = dict(zip(header, cells))
        rows.append(_Row(path.name, start, (values.get("Id") or "").strip() or None, values))
    return header, rows


def _columns(obj: Any, header: list[str], file: str, summary: ImportSummary) -> dict[str, Any]:
    """header name -> FieldDef for the columns worth importing; warn about the others."""
    keep, skipped = {}, []
    for name in header:
        if name in _BOOKKEEPING:
            continue
        f = obj.field(name)
        if f is None:
            skipped.append(name)
            summary.issues.append(Issue(file, 1, name, f"{obj.name} has no field {name!r} in the sandbox; column "
                                        f"skipped (add it under salesforce/ metadata if routing needs it)", "warning"))
        elif f.calculated:
            continue  # derived by the org (Lead.Name from First/LastName)
        else:
            keep[name] = f
    if skipped:
        summary.skipped_columns[file] = skipped
    return keep


class _Importer:
    def __init__(self, org: Any, summary: ImportSummary):
        self.org, self.summary = org, summary
        self.exported: set[str] = set()  # every id in the export, as 18 chars
        self.deferred: list[tuple[str, str, str, str, _Row]] = []  # (sobject, new id, field, export ref, row)

    def warn(self, row: _Row, column: str | None, message: str) -> None:
        self.summary.issues.append(Issue(row.file, row.line, column, message, "warning"))

    def error(self, row: _Row, column: str | None, message: str) -> None:
        self.summary.issues.append(Issue(row.file, row.line, column, message, "error"))

    def convert(self, row: _Row, columns: dict[str, Any]) -> tuple[dict, list[tuple[str, str]]]:
        """Field values for the store, and references that must wait for their target."""
        fields: dict[str, Any] = {}
        later: list[tuple[str, str]] = []
        for name, f in columns.items():
            text = row.values.get(name, "")
            if text == "":
                continue
            if f.type == "boolean":
                low = text.strip().lower()
                if low not in _TRUE | _FALSE:
                    self.warn(row, name, f"{text!r} is not a checkbox value (true/false); left unchecked")
                    continue
                fields[f.name] = low in _TRUE
            elif f.type == "reference":
                try:
                    ref = ids.to18(text.strip())
                except ValueError:
                    self.warn(row, name, f"{text!r} is not a Salesforce id; reference dropped")
                    continue
                if ref in self.summary.id_map:
                    fields[f.name] = self.summary.id_map[ref]
                elif ref in self.exported:
                    later.append((f.name, ref))
                elif f.name not in ("CreatedById", "LastModifiedById"):
                    self.warn(row, name, f"{text} is not in the export (its file is missing or the row was not "
                                         f"imported); reference dropped"
                              + ("; the integration user owns the record" if f.name == "OwnerId" else ""))
            elif f.type in _DATES and not _is_date(f.type, text):
                # as a refused number: the org's parser refuses the whole request without naming
                # the field, so the value is left blank here and named, and the row kept
                self.warn(row, name, f"{text!r} is not a {'date' if f.type == 'date' else 'date and time'} as "
                                     f"Salesforce reads it ({_DATE_FORMS[f.type]}); left blank"
                          + ("; the row is refused for want of it" if f.required else ""))
            elif f.type in _NUMBERS and not _is_number(text):
                # Salesforce's parser refuses the whole request without naming the field: the
                # value is dropped here, not the row (a spreadsheet's "12,500.00")
                self.warn(row, name, f"{text!r} is not a number as Salesforce reads it (digits, one '.' for "
                                     f"decimals, no thousands separators); value dropped")
            else:
                fields[f.name] = text
        return fields, later

    def create(self, sobject: str, row: _Row, fields: dict) -> str | None:
        """Create, dropping one refused value at a time, as long as the refusal names a field."""
        while True:
            try:
                return self.org.create(sobject, fields, system=True)
            except SalesforceError as exc:
                culprit = next((f for f in exc.fields if f in fields), None)
                if exc.error_code == "INACTIVE_OWNER_OR_USER" and "OwnerId" in fields:
                    self.warn(row, "OwnerId", "owner is an inactive user; the integration user owns the record instead")
                    fields.pop("OwnerId")
                    continue
                required = culprit is not None and self.org.schema.object(sobject).field(culprit).required
                if culprit is None or required or exc.error_code == "REQUIRED_FIELD_MISSING":
                    self.error(row, culprit or (exc.fields[0] if exc.fields else None),
                               f"{exc.error_code}: {exc.message}; row not imported")
                    return None
                self.warn(row, culprit, f"{exc.error_code}: {exc.message}; value dropped")
                fields.pop(culprit)

    def existing_queue(self, sobject: str, fields: dict) -> str | None:
        if sobject == "Group" and fields.get("Type") == "Queue":
            return self.org.queue_ids.get(fields.get("DeveloperName") or "")
        if sobject == "QueueSobject":
            for q in self.org.records("QueueSobject"):
                if q["QueueId"] == fields.get("QueueId") and q["SobjectType"] == fields.get("SobjectType"):
                    return q["Id"]
        return None

    def run_file(self, sobject: str, header: list[str], rows: list[_Row]) -> None:
        obj = self.org.schema.object(sobject)
        columns = _columns(obj, header, f"{sobject}.csv", self.summary)
        created = 0
        for row in rows:
            if row.values.get("IsDeleted", "").strip().lower() in _TRUE:
                continue  # in the export's recycle bin: not part of the working data
            fields, later = self.convert(row, columns)
            new_id = self.existing_queue(sobject, fields) or self.create(sobject, row, fields)
            if new_id is None:
                continue
            created += 1
            if row.export_id:
                try:
                    self.summary.id_map[ids.to18(row.export_id)] = new_id
                except ValueError:
                    self.warn(row, "Id", f"{row.export_id!r} is not a Salesforce id; references to it cannot be kept")
            if sobject == "Group" and fields.get("Type") == "Queue" and fields.get("DeveloperName"):
                self.org.queue_ids.setdefault(fields["DeveloperName"], new_id)
            for name, ref in later:
                self.deferred.append((sobject, new_id, name, ref, row))
        self.summary.counts[sobject] = self.summary.counts.get(sobject, 0) + created

    def patch_deferred(self) -> None:
        for sobject, new_id, name, ref, row in self.deferred:
            target = self.summary.id_map.get(ref)
            if target is None:
                self.warn(row, name, f"{ref} was in the export but its row was not imported; reference dropped")
                continue
            try:
                self.org.update(sobject, new_id, {name: target}, system=True)
            except SalesforceError as exc:
                self.warn(row, name, f"{exc.error_code}: {exc.message}; reference dropped")


def load_export(org: Any, directory: str | Path) -> ImportSummary:
    """Import the Data Export CSVs found in `directory` into `org`; see the module doc."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"Data Export folder {directory} does not exist; unzip the export and pass its folder")
    summary = ImportSummary()
    files = {p.stem: p for p in sorted(directory.glob("*.csv"))}
    known = {name.lower(): name for name in IMPORT_ORDER}
    for stem in files:
        if stem.lower() not in known:
            summary.issues.append(Issue(f"{stem}.csv", 1, None, f"not imported: the sandbox loads only "
                                        f"{', '.join(f'{n}.csv' for n in IMPORT_ORDER)}", "warning"))
    if not any(stem.lower() in known for stem in files):
        raise FileNotFoundError(f"{directory} holds none of {', '.join(f'{n}.csv' for n in IMPORT_ORDER)}; "
                                f"is it the unzipped Data Export folder?")
    loaded: dict[str, tuple[list[str], list[_Row]]] = {}
    for stem, path in files.items():
        if stem.lower() in known:
            loaded[known[stem.lower()]] = _read(path, summary)
    importer = _Importer(org, summary)
    for _header, rows in loaded.values():
        for row in rows:
            if row.export_id and ids.is_valid(row.export_id):
                importer.exported.add(ids.to18(row.export_id))
    with org.lock:
        for sobject in IMPORT_ORDER:
            if sobject in loaded:
                importer.run_file(sobject, *loaded[sobject])
        importer.patch_deferred()
    return summary


def _is_date(kind: str, text: str) -> bool:
    from sandbox.values import parse_date, parse_datetime

    try:
        (parse_date if kind == "date" else parse_datetime)(text)
    except SalesforceError:
        return False
    return True


def _is_number(text: str) -> bool:
    from decimal import Decimal, InvalidOperation

    try:
        return Decimal(text.strip()).is_finite()
    except InvalidOperation:
        return False
