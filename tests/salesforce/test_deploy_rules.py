"""Rules Salesforce's Metadata API applies when `sf project deploy start` sends salesforce/:
a component that breaks one fails the whole deploy, so the first step of connecting an org
fails. No org here, so each rule is checked on the shipped XML, citing where it is written.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[2] / "salesforce/force-app/main/default"
NS = "{http://soap.sforce.com/2006/04/metadata}"


def _root(path: Path) -> ET.Element:
    return ET.parse(path).getroot()


def _text(node: ET.Element, tag: str) -> str:
    return (node.findtext(f"{NS}{tag}") or "").strip()


def _true(node: ET.Element, tag: str) -> bool:
    return _text(node, tag) == "true"


PERMISSION_SETS = sorted((SOURCE / "permissionsets").glob("*.permissionset-meta.xml"))
CUSTOM_OBJECTS = sorted((SOURCE / "objects").glob("*__c/*.object-meta.xml"))

# Object permissions each one depends on (Salesforce Help, "Object Permissions": Create,
# Edit and Delete include Read, Delete includes Edit, Modify All Records is "read, edit,
# delete, transfer, and approve all records"). The Metadata API refuses a permission set
# that enables one without what it depends on, e.g. "Permission Modify All Lead depends
# on permission(s): Delete Lead".
DEPENDS_ON = {
    "allowCreate": ("allowRead",),
    "allowEdit": ("allowRead",),
    "allowDelete": ("allowRead", "allowEdit"),
    "viewAllRecords": ("allowRead",),
    "modifyAllRecords": ("allowRead", "allowEdit", "allowDelete", "viewAllRecords"),
}


@pytest.mark.parametrize("path", PERMISSION_SETS, ids=lambda p: p.name.split(".")[0])
def test_object_permissions_carry_what_they_depend_on(path):
    refused = []
    for op in _root(path).findall(f"{NS}objectPermissions"):
        obj = _text(op, "object")
        for perm, needs in DEPENDS_ON.items():
            missing = [n for n in needs if _true(op, perm) and not _true(op, n)]
            if missing:
                refused.append(f"{obj}: {perm} without {', '.join(missing)}")
    assert refused == [], f"{path.name}: a deploy refuses {refused}"


@pytest.mark.parametrize("path", CUSTOM_OBJECTS, ids=lambda p: p.parent.name)
def test_bulk_sharing_and_streaming_are_on_or_off_together(path):
    """CustomObject (Metadata API Developer Guide): enableBulkApi "When enabled,
    enableSharing and enableStreamingApi must also be enabled" — the three together make
    an Enterprise Application object; an object with only some of them fails to deploy."""
    root = _root(path)
    flags = {tag: _true(root, tag) for tag in ("enableBulkApi", "enableSharing", "enableStreamingApi")}
    assert len(set(flags.values())) == 1, f"{path.name}: {flags}"


LIST_VIEWS = sorted((SOURCE / "objects").glob("*/listViews/*.listView-meta.xml"))


@pytest.mark.parametrize("path", LIST_VIEWS, ids=lambda p: p.name.split(".")[0])
def test_admin_list_views_are_shared_with_internal_users_only(path):
    """SharedTo (Metadata API Developer Guide): "SharedTo isn't in the metadata for public
    list views" — a list view without it is public, which in an org with a partner portal
    means every partner user too; `allInternalUsers` is "all internal and nonportal users".
    These views are the Salesforce admins' (README.md), not the partner reps'."""
    shared = _root(path).find(f"{NS}sharedTo")
    assert shared is not None, f"{path.name} has no sharedTo: it would be public, partner users included"
    assert [c.tag[len(NS):] for c in shared] == ["allInternalUsers"], f"{path.name}: shared with {list(shared)}"


ROOT = SOURCE.parents[2].parent
# Salesforce Help, "Field History Tracking": at most 20 fields tracked per object; a deploy
# of a tracked field past that fails ("exceeded the allowed number of fields to track").
TRACKED_PER_OBJECT = 20
# the standard Lead fields the deploy steps have the admin track (the state rebuild reads them)
STANDARD_TRACKED = ("Owner", "Partner Account")


def _tracked(obj: str) -> list[str]:
    return sorted(p.name.split(".")[0] for p in (SOURCE / "objects" / obj / "fields").glob("*.field-meta.xml")
                  if _true(_root(p), "trackHistory"))


def test_the_deploy_steps_say_lead_history_must_be_on_with_room_for_the_tracked_fields():
    """A field with trackHistory on an object whose history tracking is off is refused ("The
    entity: Lead does not have history tracking enabled", forcedotcom/salesforcedx-vscode#501)
    or tracks nothing, and Lead's "Enable Lead History" is a per-org setting this source does
    not ship (a Lead.object-meta.xml would overwrite the org's own Lead settings). The state
    rebuild reads these fields' LeadHistory, so both deploy instructions must say to turn it on
    and leave room for them under the 20-field limit."""
    tracked = _tracked("Lead")
    assert 0 < len(tracked) < TRACKED_PER_OBJECT
    for doc in (ROOT / "README.md", ROOT / "salesforce" / "README.md"):
        text = doc.read_text(encoding="utf-8")
        deploy = text[text.index("sf project deploy start"):][:3000]
        assert "Enable Lead History" in deploy, f"{doc.name}: the deploy step does not say to enable Lead history"
        missing = [f for f in tracked if f not in deploy]
        assert missing == [], f"{doc.name}: the deploy step does not name the tracked fields {missing}"
        # Owner and Partner Account, which the step says to tick, count against the 20 too
        assert all(f in deploy for f in STANDARD_TRACKED), f"{doc.name}: the standard fields to tick"
        room = TRACKED_PER_OBJECT - len(tracked) - len(STANDARD_TRACKED)
        assert f"{room} others" in deploy, f"{doc.name}: the room left under the limit is {room}"


def test_the_partner_rep_set_fits_every_partner_license_and_the_readme_names_them():
    """Experience Cloud licenses (Salesforce Help, "Experience Cloud User Licenses"): Leads
    come with Partner Community (and its Login flavour) only; Customer Community and
    Customer Community Plus carry no Lead access, so assigning a set granting Lead edit to
    such a user is refused. A `license` on the set would bind it to one flavour (Partner
    Community Login users could not take a Partner Community set), so it declares none,
    and the README says which users can take it."""
    root = _root(SOURCE / "permissionsets" / "LeadRouter_Partner_Rep.permissionset-meta.xml")
    assert _text(root, "license") == "" and _text(root, "userLicense") == ""
    text = (ROOT / "salesforce" / "README.md").read_text(encoding="utf-8")
    about = text[text.index("Partner reps get `LeadRouter_Partner_Rep`"):][:800]
    assert "Partner Community" in about and "Customer Community Plus" in about, about


FIELDS = sorted((SOURCE / "objects").glob("*/fields/*.field-meta.xml"))


def _field_errors(path: Path) -> list[str]:
    """What the Metadata API refuses in one CustomField (Metadata API Developer Guide,
    CustomField; Salesforce Help, "Custom Field Attributes" and "Custom Field Types")."""
    root = _root(path)
    kind = _text(root, "type")
    errors = []
    name = path.name.split(".")[0]
    # API names: a letter first, letters, digits and single underscores, at most 40 before __c
    if not (re.fullmatch(r"[A-Za-z][A-Za-z0-9]*(_[A-Za-z0-9]+)*__c", name) and len(name) <= 43):
        errors.append("not a valid custom field API name")
    if _text(root, "fullName") not in ("", name):
        errors.append("fullName differs from the file name")
    if not 0 < len(_text(root, "label")) <= 40:
        errors.append("label must have 1-40 characters")
    if len(_text(root, "description")) > 1000:
        errors.append("description over 1,000 characters")
    if len(_text(root, "inlineHelpText")) > 510:
        errors.append("inlineHelpText over 510 characters")
    length = int(_text(root, "length") or 0)
    if kind == "Text" and not 1 <= length <= 255:
        errors.append("Text needs a length of 1-255")
    if kind in ("LongTextArea", "Html") and not (256 <= length <= 131072 and _text(root, "visibleLines")):
        errors.append(f"{kind} needs a length of 256-131,072 and visibleLines")
    if kind in ("Number", "Currency", "Percent"):
        precision, scale = int(_text(root, "precision") or 0), int(_text(root, "scale") or -1)
        if not (1 <= precision <= 18 and 0 <= scale <= precision):
            errors.append(f"{kind} needs precision 1-18 and scale 0-precision")
    if kind in ("Picklist", "MultiselectPicklist"):
        values = root.findall(f"{NS}valueSet/{NS}valueSetDefinition/{NS}value")
        if not values:
            errors.append("a picklist needs its values")
        if kind == "MultiselectPicklist" and not _text(root, "visibleLines"):
            errors.append("MultiselectPicklist needs visibleLines")
        if kind == "MultiselectPicklist" and any(";" in _text(v, "fullName") for v in values):
            errors.append("a multi-select value cannot contain ';'")
    if kind == "Checkbox" and _text(root, "defaultValue") not in ("true", "false"):
        errors.append("Checkbox needs defaultValue true or false")
    if (_true(root, "unique") or _true(root, "externalId")) and kind not in ("Text", "Number", "Email", "AutoNumber"):
        errors.append("unique/externalId only on Text, Number, Email or AutoNumber")
    if _true(root, "caseSensitive") and not _true(root, "unique"):
        errors.append("caseSensitive only with unique")
    # a formula field stores nothing (Salesforce Help, "Formula Field Limits and Restrictions"):
    # it cannot be required, unique, an external id, history-tracked or defaulted
    if _text(root, "formula") and any(_true(root, t) for t in ("required", "unique", "externalId", "trackHistory")):
        errors.append("a formula field cannot be required, unique, an external id or tracked")
    if _text(root, "formula") and _text(root, "defaultValue"):
        errors.append("a formula field takes no default value")
    return errors


@pytest.mark.parametrize("path", FIELDS, ids=lambda p: f"{p.parents[1].name}.{p.name.split('.')[0]}")
def test_each_custom_field_is_one_the_metadata_api_accepts(path):
    assert _field_errors(path) == []


def test_the_field_rules_catch_what_a_deploy_refuses(tmp_path):
    bad = tmp_path / "Bad__c.field-meta.xml"
    bad.write_text(f"""<CustomField xmlns="{NS[1:-1]}"><fullName>Bad__c</fullName>
        <label>A label far longer than forty characters, refused</label><type>Text</type>
        <caseSensitive>true</caseSensitive></CustomField>""", encoding="utf-8")
    assert _field_errors(bad) == ["label must have 1-40 characters", "Text needs a length of 1-255",
                                  "caseSensitive only with unique"]
    twice = tmp_path / "Two__Parts__c.field-meta.xml"
    twice.write_text(bad.read_text(encoding="utf-8").replace("Bad__c", "Two__Parts__c"), encoding="utf-8")
    assert _field_errors(twice)[0] == "not a valid custom field API name"


@pytest.mark.parametrize("path", PERMISSION_SETS, ids=lambda p: p.name.split(".")[0])
def test_permission_sets_grant_no_field_salesforce_keeps_out_of_field_permissions(path):
    """A required field, or one that is not custom (standard fields differ by org and
    edition), in fieldPermissions fails the deploy ("You cannot deploy to a required field");
    a permission set's description holds 255 characters (PermissionSet.Description)."""
    root = _root(path)
    assert len(_text(root, "description")) <= 255 and 0 < len(_text(root, "label")) <= 80
    for fp in root.findall(f"{NS}fieldPermissions"):
        obj, _, name = _text(fp, "field").partition(".")
        path_ = SOURCE / "objects" / obj / "fields" / f"{name}.field-meta.xml"
        assert path_.exists(), f"{obj}.{name}: not a field this source ships"
        assert not _true(_root(path_), "required"), f"{obj}.{name} is required: it takes no field permission"
        if _text(_root(path_), "formula"):
            assert not _true(fp, "editable"), f"{obj}.{name} is a formula field: read-only, it takes no edit"
        if _true(fp, "editable"):
            assert _true(fp, "readable"), f"{obj}.{name}: edit without read"


def test_every_api_version_is_the_projects_source_api_version():
    """sfdx-project.json's sourceApiVersion is the version `sf project deploy` sends; a
    bundle declaring another one is compiled against a different platform version."""
    import json

    project = json.loads((ROOT / "salesforce" / "sfdx-project.json").read_text(encoding="utf-8"))
    versions = {p.name: _text(_root(p), "apiVersion") for p in (SOURCE / "lwc").glob("*/*.js-meta.xml")}
    assert versions and set(versions.values()) == {project["sourceApiVersion"]}, versions


def test_the_readme_says_how_to_find_the_shipped_notification_types_id():
    """`[notifications] custom_notification_type_id` wants the 0ML… Id of a
    CustomNotificationType (config.example.toml points at salesforce/): the deploy creates
    the one shipped here, and its Id differs in every org, so the README must say how to read it."""
    names = [p.name.split(".")[0] for p in (SOURCE / "notificationtypes").glob("*.notiftype-meta.xml")]
    text = (ROOT / "salesforce" / "README.md").read_text(encoding="utf-8")
    for name in names:
        assert f"SELECT Id FROM CustomNotificationType WHERE DeveloperName = '{name}'" in text
    assert "custom_notification_type_id" in text


@pytest.mark.parametrize("path", sorted((SOURCE / "platformEventChannelMembers").glob("*.xml")), ids=lambda p: p.name.split(".")[0])
def test_change_data_capture_members_name_a_change_event_on_the_standard_channel(path):
    """PlatformEventChannelMember (Metadata API Developer Guide): a member of the standard
    `ChangeEvents` channel selects `<Object>ChangeEvent` (`<Name>__ChangeEvent` for a custom
    object), and its file is named `<channel>_<selectedEntity>`."""
    root = _root(path)
    channel, entity = _text(root, "eventChannel"), _text(root, "selectedEntity")
    assert channel == "ChangeEvents" and path.name.split(".")[0] == f"{channel}_{entity}"
    obj = entity.removesuffix("__ChangeEvent") + "__c" if entity.endswith("__ChangeEvent") else entity.removesuffix("ChangeEvent")
    assert obj != entity and (obj in ("Lead", "Account", "Contact", "Opportunity", "Case")
                              or (SOURCE / "objects" / obj).is_dir()), entity


def test_every_code_block_of_the_install_docs_closes():
    """A fence closes only on a line of backticks alone (CommonMark): a line such as
    "``` Put the component…" opens nothing and closes nothing, so everything after it —
    the portal component's install steps here — showed as part of the command block."""
    for doc in (ROOT / "salesforce" / "README.md", ROOT / "docs" / "DEPLOY.md"):
        opened = 0
        for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
            fence = line.lstrip()
            if not fence.startswith("```"):
                continue
            if opened:
                assert fence.rstrip() == "```", f"{doc.name}:{number}: text after a closing fence: {line!r}"
                opened = 0
            else:
                opened = number
        assert not opened, f"{doc.name}:{opened}: a code block never closes"


def _picklist(obj: str, field: str) -> tuple[list[str], bool]:
    root = _root(SOURCE / "objects" / obj / "fields" / f"{field}.field-meta.xml")
    values = [_text(v, "fullName") for v in root.findall(f"{NS}valueSet/{NS}valueSetDefinition/{NS}value")]
    return values, _text(root.find(f"{NS}valueSet"), "restricted") == "true"


def test_every_value_the_connector_and_the_portal_component_write_is_in_the_packages_picklists():
    """Routing_Status__c, Partner_Response__c and Rejection_Reason_Code__c are restricted: a
    value the package lacks is refused on save (INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST), the
    connector's whole write of that lead with it. What the connector writes (rules/model.py's
    RoutingStatus and Response, through the shipped writeback mapping, which maps no value)
    and what the portal component writes or compares with must all be in the package."""
    import tomllib

    from jobs.feedback import NO_CAPACITY, NOT_OUR_FIT, OUT_OF_TERRITORY
    from rules.model import Response, RoutingStatus

    writeback = tomllib.loads((ROOT / "mappings/defaults/writeback.toml").read_text(encoding="utf-8"))["writeback"]
    assert all(not isinstance(v, dict) or "map" not in v for v in writeback["fields"].values())
    status, restricted = _picklist("Lead", writeback["fields"]["routing_status"])
    assert restricted and [s.value for s in RoutingStatus if s.value not in status] == []
    response, restricted = _picklist("Lead", writeback["fields"]["response"])
    assert restricted and [r.value for r in Response if r.value not in response] == []
    codes, restricted = _picklist("Lead", "Rejection_Reason_Code__c")
    assert restricted and [c for c in (NO_CAPACITY, NOT_OUR_FIT, OUT_OF_TERRITORY) if c not in codes] == []
    component = (SOURCE / "lwc/leadOfferResponse/leadOfferResponse.js").read_text(encoding="utf-8")
    compared = set(re.findall(r"STATUS_FIELD\) === '([^']+)'", component))
    written = set(re.findall(r"RESPONSE_FIELD\.fieldApiName\]: '([^']+)'", component))
    other = set(re.findall(r"const OTHER = '([^']+)'", component))
    assert compared and written and other, "the component's literals moved: update this test"
    assert compared <= set(status) and written <= set(response) and other <= set(codes)


def test_the_portal_component_reads_and_writes_only_fields_the_partner_rep_set_grants():
    """The component runs as the rep: getRecord leaves out (and updateRecord refuses) a field
    the rep's field-level security hides or keeps read-only, and the rep then sees an empty
    deadline or a save error, not the offer. Each custom field it imports must be readable
    through LeadRouter_Partner_Rep, each it writes editable."""
    component = (SOURCE / "lwc/leadOfferResponse/leadOfferResponse.js").read_text(encoding="utf-8")
    imported = dict(re.findall(r"import (\w+) from '@salesforce/schema/Lead\.(\w+__c)'", component))
    # fields named as strings (getRecord's optionalFields: an org without one still loads the component)
    imported |= dict(re.findall(r"const (\w+) = 'Lead\.(\w+__c)'", component))
    written = {imported[name] for name in re.findall(r"\[(\w+)\.fieldApiName\]:", component) if name in imported}
    assert imported and written, "the component's imports moved: update this test"
    root = _root(SOURCE / "permissionsets/LeadRouter_Partner_Rep.permissionset-meta.xml")
    grants = {_text(fp, "field"): (_true(fp, "readable"), _true(fp, "editable")) for fp in root.findall(f"{NS}fieldPermissions")}
    unread = sorted(f for f in imported.values() if not grants.get(f"Lead.{f}", (False, False))[0])
    unwritable = sorted(f for f in written if not grants.get(f"Lead.{f}", (False, False))[1])
    assert (unread, unwritable) == ([], [])
