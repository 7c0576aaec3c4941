"""The standard objects the sandbox emulates, declared once.

Only the fields the product and its tests touch, with the types, lengths and
picklists a Developer Edition org reports in describe(). Audit fields (Id, IsDeleted,
CreatedDate, CreatedById, LastModifiedDate, LastModifiedById, SystemModstamp) are
added to every object here, read-only, as Salesforce maintains them itself.
"""
from __future__ import annotations

import re

from sandbox.ids import PREFIXES
from sandbox.definitions import FieldDef, ObjectDef

INDUSTRIES = [
    "Agriculture", "Apparel", "Banking", "Biotechnology", "Chemicals", "Communications",
    "Construction", "Consulting", "Education", "Electronics", "Energy", "Engineering",
    "Entertainment", "Environmental", "Finance", "Food & Beverage", "Government",
    "Healthcare", "Hospitality", "Insurance", "Machinery", "Manufacturing", "Media",
    "Not For Profit", "Recreation", "Retail", "Shipping", "Technology",
    "Telecommunications", "Transportation", "Utilities", "Other",
]  # fmt: skip
LEAD_STATUS = ["Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted"]
LEAD_SOURCE = ["Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"]
RATING = ["Hot", "Warm", "Cold"]
OPPORTUNITY_STAGES = [
    "Prospecting", "Qualification", "Needs Analysis", "Value Proposition", "Id. Decision Makers",
    "Perception Analysis", "Proposal/Price Quote", "Negotiation/Review", "Closed Won", "Closed Lost",
]  # fmt: skip
ACCOUNT_TYPES = ["Prospect", "Customer - Direct", "Customer - Channel", "Channel Partner / Reseller",
                 "Installation Partner", "Technology Partner", "Other"]  # fmt: skip
SALUTATIONS = ["Mr.", "Ms.", "Mrs.", "Dr.", "Prof."]
TASK_STATUS = ["Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred"]
TASK_CLOSED = frozenset(("Completed",))  # TaskStatus.IsClosed in a new org
TASK_PRIORITY = ["High", "Normal", "Low"]
TASK_SUBTYPES = ["Task", "Email", "ListEmail", "Cadence", "Call", "LinkedIn"]
TASK_SUBJECTS = ["Call", "Send Letter", "Send Quote", "Other"]
USER_TYPES = ["Standard", "PowerPartner", "PowerCustomerSuccess", "CustomerSuccess", "CspLitePortal", "Guest"]
LOCALES = ["en_US", "de", "fr", "es", "it", "pt_BR", "nl_NL", "ja"]
TIME_ZONES = [
    "America/Los_Angeles", "America/Denver", "America/Chicago", "America/New_York", "America/Sao_Paulo",
    "Europe/London", "Europe/Berlin", "Europe/Paris", "Europe/Madrid", "Europe/Rome", "Europe/Amsterdam",
    "Asia/Tokyo", "Asia/Singapore", "Asia/Kolkata", "Australia/Sydney", "GMT",
]  # fmt: skip


def _label(name: str) -> str:
    base = name[:-2] + " ID" if name.endswith("Id") and name != "Id" else name
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", base)


def s(name: str, length: int = 255, **kw) -> FieldDef:
    return FieldDef(name, kw.pop("type", "string"), kw.pop("label", _label(name)), length=length, **kw)


def text(name: str, length: int = 32000, **kw) -> FieldDef:
    return s(name, length, type="textarea", **kw)


def pick(name: str, values: list[str], **kw) -> FieldDef:
    return FieldDef(name, kw.pop("type", "picklist"), kw.pop("label", _label(name)), length=255,
                    picklist_values=list(values), **kw)  # fmt: skip


def flag(name: str, default: bool = False, **kw) -> FieldDef:
    return FieldDef(name, "boolean", kw.pop("label", _label(name)), nillable=False, default=default, **kw)


def num(name: str, precision: int = 18, scale: int = 0, type: str = "double", **kw) -> FieldDef:
    return FieldDef(name, type, kw.pop("label", _label(name)), precision=precision, scale=scale, **kw)


def ref(name: str, to: list[str], rel: str | None, **kw) -> FieldDef:
    return FieldDef(name, "reference", kw.pop("label", _label(name)), length=18, reference_to=to,
                    relationship_name=rel, **kw)  # fmt: skip


def date(name: str, **kw) -> FieldDef:
    return FieldDef(name, "date", kw.pop("label", _label(name)), **kw)


def dt(name: str, **kw) -> FieldDef:
    return FieldDef(name, "datetime", _label(name), **kw)


RO = {"createable": False, "updateable": False}


def _audit() -> list[FieldDef]:
    return [
        FieldDef("Id", "id", "Record ID", length=18, nillable=False, **RO),
        flag("IsDeleted", **RO),
        dt("CreatedDate", nillable=False, **RO),
        ref("CreatedById", ["User"], "CreatedBy", nillable=False, **RO),
        dt("LastModifiedDate", nillable=False, **RO),
        ref("LastModifiedById", ["User"], "LastModifiedBy", nillable=False, **RO),
        dt("SystemModstamp", nillable=False, **RO),
    ]


def _full_name(name: str = "Name", length: int = 121) -> FieldDef:
    return s(name, length, label="Full Name", calculated=True, **RO)


def _address(prefix: str = "") -> list[FieldDef]:
    return [
        text(prefix + "Street", 255),
        s(prefix + "City", 40),
        s(prefix + "State", 80, label=(prefix + " State/Province").strip()),
        s(prefix + "PostalCode", 20, label=(prefix + " Zip/Postal Code").strip()),
        s(prefix + "Country", 80),
        num(prefix + "Latitude", 18, 15),
        num(prefix + "Longitude", 18, 15),
    ]


def _declare() -> dict[str, tuple[str, list[FieldDef], dict]]:
    """object name -> (label, fields, object options)."""
    return {
        "Lead": ("Lead", [
            pick("Salutation", SALUTATIONS),
            s("FirstName", 40),
            s("LastName", 80, nillable=False, required=True),
            _full_name(),
            s("Company", 255, nillable=False, required=True),
            s("Title", 128),
            s("Email", 80, type="email"),
            s("Phone", 40, type="phone"),
            s("Website", 255, type="url"),
            *_address(),
            pick("Industry", INDUSTRIES),
            pick("LeadSource", LEAD_SOURCE, label="Lead Source"),
            pick("Rating", RATING),
            pick("Status", LEAD_STATUS, nillable=False, restricted_picklist=True, default=LEAD_STATUS[0],
                 track_history=True),
            num("NumberOfEmployees", 8, 0, type="int", label="Employees"),
            num("AnnualRevenue", 18, 0, type="currency", label="Annual Revenue"),
            text("Description"),
            ref("OwnerId", ["Group", "User"], "Owner", nillable=False, track_history=True),
            ref("PartnerAccountId", ["Account"], "PartnerAccount", label="Partner Account ID", track_history=True),
            flag("IsConverted", createable=True, updateable=False),
            date("ConvertedDate", **RO),
            ref("ConvertedAccountId", ["Account"], "ConvertedAccount", **RO),
            ref("ConvertedContactId", ["Contact"], "ConvertedContact", **RO),
            ref("ConvertedOpportunityId", ["Opportunity"], "ConvertedOpportunity", **RO),
            flag("IsUnreadByOwner", createable=True, updateable=True),
        ], {}),
        "Account": ("Account", [
            s("Name", 255, label="Account Name", nillable=False, required=True),
            pick("Type", ACCOUNT_TYPES, label="Account Type"),
            ref("ParentId", ["Account"], "Parent", label="Parent Account ID"),
            *_address("Billing"),
            *_address("Shipping"),
            s("Phone", 40, type="phone"),
            s("Website", 255, type="url"),
            pick("Industry", INDUSTRIES),
            num("NumberOfEmployees", 8, 0, type="int", label="Employees"),
            text("Description"),
            ref("OwnerId", ["User"], "Owner", nillable=False),
            flag("IsPartner", label="Partner Account"),
        ], {}),
        "Contact": ("Contact", [
            ref("AccountId", ["Account"], "Account"),
            s("FirstName", 40),
            s("LastName", 80, nillable=False, required=True),
            _full_name(),
            s("Email", 80, type="email"),
            s("Phone", 40, type="phone"),
            s("Title", 128),
            ref("OwnerId", ["User"], "Owner", nillable=False),
        ], {}),
        "User": ("User", [
            s("Username", 80, nillable=False, required=True),
            s("FirstName", 40),
            s("LastName", 80, nillable=False, required=True),
            _full_name(),
            s("Alias", 8),
            s("Email", 128, type="email", nillable=False, required=True),
            flag("IsActive", default=True),
            # In a real org UserType follows the profile and AccountId the contact; the
            # sandbox has no profiles, so both may be set on create (see README).
            pick("UserType", USER_TYPES, restricted_picklist=True, default="Standard", updateable=False),
            ref("AccountId", ["Account"], "Account", updateable=False),
            ref("ContactId", ["Contact"], "Contact", updateable=False),
            # a partner super user sees the leads of every user of its partner account
            flag("IsPrmSuperUser", label="Partner Super User"),
            pick("TimeZoneSidKey", TIME_ZONES, label="Time Zone", default="America/Los_Angeles"),
            pick("LanguageLocaleKey", LOCALES, label="Language", default="en_US"),
            pick("LocaleSidKey", LOCALES, label="Locale", default="en_US"),
            s("Title", 80),
            s("Department", 80),
        ], {"deletable": False}),  # users are deactivated (IsActive), never deleted
        "Group": ("Group", [
            s("Name", 40, nillable=False, required=True),
            s("DeveloperName", 80, label="Developer Name"),
            pick("Type", ["Regular", "Queue", "Role", "RoleAndSubordinates", "Organization"], nillable=False,
                 restricted_picklist=True, default="Regular", updateable=False),
            s("Email", 255, type="email"),
            flag("DoesSendEmailToMembers", label="Send Email to Members"),
            ref("OwnerId", ["User"], "Owner", nillable=False),
        ], {}),
        "GroupMember": ("Group Member", [
            ref("GroupId", ["Group"], "Group", nillable=False, required=True, updateable=False),
            ref("UserOrGroupId", ["Group", "User"], None, label="User/Group ID", nillable=False, required=True,
                updateable=False),
        ], {"updateable": False}),
        "QueueSobject": ("Queue Sobject", [
            ref("QueueId", ["Group"], "Queue", nillable=False, required=True, updateable=False),
            pick("SobjectType", ["Lead", "Case", "Opportunity", "Account", "Contact"], nillable=False,
                 required=True, restricted_picklist=True, updateable=False),
        ], {"updateable": False}),
        "Opportunity": ("Opportunity", [
            s("Name", 120, nillable=False, required=True),
            ref("AccountId", ["Account"], "Account"),
            pick("StageName", OPPORTUNITY_STAGES, label="Stage", nillable=False, required=True,
                 restricted_picklist=True),
            date("CloseDate", nillable=False, required=True),
            num("Amount", 18, 2, type="currency"),
            num("Probability", 3, 0, type="percent"),
            pick("LeadSource", LEAD_SOURCE, label="Lead Source"),
            ref("PartnerAccountId", ["Account"], "PartnerAccount", label="Partner Account ID"),
            ref("OwnerId", ["User"], "Owner", nillable=False),
            flag("IsClosed", **RO),
            flag("IsWon", **RO),
            text("Description"),
        ], {}),
        # an activity: WhoId is a person (lead or contact), WhatId a record (never with a lead);
        # OwnerId defaults to whoever creates it; IsClosed follows Status
        "Task": ("Task", [
            ref("WhoId", ["Contact", "Lead"], "Who", label="Name ID"),
            ref("WhatId", ["Account", "Opportunity"], "What", label="Related To ID"),
            pick("Subject", TASK_SUBJECTS, type="combobox"),
            date("ActivityDate", label="Due Date Only"),
            pick("Status", TASK_STATUS, nillable=False, restricted_picklist=True, default="Not Started"),
            pick("Priority", TASK_PRIORITY, nillable=False, restricted_picklist=True, default="Normal"),
            ref("OwnerId", ["User"], "Owner", label="Assigned To ID", nillable=False),
            text("Description"),
            flag("IsClosed", label="Closed", **RO),
            pick("TaskSubtype", TASK_SUBTYPES, label="Task Subtype", restricted_picklist=True, updateable=False),
        ], {}),
        "CustomNotificationType": ("Custom Notification Type", [
            s("DeveloperName", 80, label="API Name", nillable=False, required=True),
            s("MasterLabel", 80, label="Custom Notification Name", nillable=False, required=True),
            text("Description", 255),
            flag("Desktop", default=True),
            flag("Mobile", default=True),
        ], {}),
        # the org itself: one read-only row, which Salesforce's CLI and other tools query
        # (SELECT Name, IsSandbox, InstanceName ... FROM Organization) before anything else
        "Organization": ("Organization", [
            s("Name", 80, nillable=False, **RO),
            s("Division", 80, **RO),
            s("Country", 80, **RO),
            pick("OrganizationType", ["Developer Edition", "Enterprise Edition", "Unlimited Edition",
                                      "Professional Edition"], label="Edition", **RO),
            flag("IsSandbox", **RO),
            s("InstanceName", 5, **RO),
            s("NamespacePrefix", 15, **RO),
            dt("TrialExpirationDate", **RO),
            pick("DefaultLocaleSidKey", LOCALES, label="Locale", **RO),
            pick("LanguageLocaleKey", LOCALES, label="Language", **RO),
            pick("TimeZoneSidKey", TIME_ZONES, label="Time Zone", **RO),
            # Setup → Fiscal Year (a standard fiscal year): its quarters are the org's quarters
            num("FiscalYearStartMonth", 2, 0, type="int", label="Fiscal Year Starts In", **RO),
            flag("UsesStartDateAsFiscalYearName", label="Fiscal Year Name by Start", **RO),
        ], {"createable": False, "updateable": False, "deletable": False}),
        # Setup → Fiscal Year: a custom fiscal year and its periods, which the admin defines in
        # Setup (read-only to the API; a test seeds them with system=True). None in a new org.
        "FiscalYearSettings": ("Fiscal Year Settings", [
            s("Name", 80, nillable=False, **RO),
            date("StartDate", **RO),
            date("EndDate", **RO),
            flag("IsStandardYear", **RO),
            pick("YearType", ["Standard", "Custom", "Placeholder"], **RO),
            s("Description", 255, **RO),
        ], {"createable": False, "updateable": False, "deletable": False}),
        "Period": ("Period", [
            ref("FiscalYearSettingsId", ["FiscalYearSettings"], "FiscalYearSettings", **RO),
            pick("Type", ["Month", "Quarter", "Week", "Year"], **RO),
            date("StartDate", nillable=False, **RO),
            date("EndDate", nillable=False, **RO),
            num("Number", 9, 0, type="int", **RO),
            pick("QuarterLabel", [], label="Quarter Name", **RO),
            pick("PeriodLabel", [], label="Period Name", **RO),
            s("FullyQualifiedLabel", 80, **RO),
            flag("IsForecastPeriod", **RO),
        ], {"createable": False, "updateable": False, "deletable": False}),
        "LeadHistory": ("Lead History", [
            ref("LeadId", ["Lead"], "Lead", nillable=False, **RO),
            pick("Field", [], label="Changed Field", nillable=False, **RO),
            pick("DataType", ["EntityId", "Text", "DateTime", "Boolean", "Double", "Date"], **RO),
            FieldDef("OldValue", "anyType", "Old Value", **RO),
            FieldDef("NewValue", "anyType", "New Value", **RO),
        ], {"createable": False, "updateable": False, "deletable": False}),
    }


def currency_type(codes: list[str]) -> ObjectDef:
    """CurrencyType, which only a multi-currency org has (Store.with_multi_currency)."""
    fields = [
        pick("IsoCode", codes, label="Currency ISO Code", nillable=False, restricted_picklist=True),
        num("ConversionRate", 18, 6, label="Conversion Rate"),
        num("DecimalPlaces", 9, 0, type="int"),
        flag("IsActive", label="Active"),
        flag("IsCorporate", label="Corporate Currency"),
    ]
    audit = _audit()
    return ObjectDef(name="CurrencyType", label="Currency Type", key_prefix=PREFIXES["CurrencyType"], custom=False,
                     fields={f.name: f for f in (audit[0], *fields, *audit[1:])}, label_plural="Currency Types",
                     deletable=False)


def dated_conversion_rate(codes: list[str]) -> ObjectDef:
    """DatedConversionRate, which only an org with advanced currency management has
    (Store.with_dated_rates): one rate per currency and date range, `NextStartDate` the
    start of the next range (none: the range runs on). Read-only to the API here: the
    connector only reads it, and a test must not be able to move an org's rates by it."""
    fields = [
        pick("IsoCode", codes, label="Currency ISO Code", nillable=False, restricted_picklist=True, **RO),
        num("ConversionRate", 18, 6, label="Conversion Rate", **RO),
        date("StartDate", label="Start Date", nillable=False, **RO),
        date("NextStartDate", label="Next Start Date", **RO),
    ]
    audit = _audit()
    return ObjectDef(name="DatedConversionRate", label="Dated Conversion Rate",
                     key_prefix=PREFIXES["DatedConversionRate"], custom=False,
                     fields={f.name: f for f in (audit[0], *fields, *audit[1:])}, label_plural="Dated Conversion Rates",
                     createable=False, updateable=False, deletable=False)


_PLURALS = {"Opportunity": "Opportunities", "LeadHistory": "Lead History", "QueueSobject": "Queue Sobjects",
            "FiscalYearSettings": "Fiscal Year Settings"}


def objects() -> dict[str, ObjectDef]:
    out: dict[str, ObjectDef] = {}
    for name, (label, fields, opts) in _declare().items():
        all_fields = _audit()[:1] + fields + _audit()[1:]
        out[name] = ObjectDef(
            name=name,
            label=label,
            key_prefix=PREFIXES[name],
            custom=False,
            fields={f.name: f for f in all_fields},
            label_plural=_PLURALS.get(name, label + "s"),
            **opts,
        )
    return out


def custom_object_fields(name_label: str) -> list[FieldDef]:
    """What Salesforce puts on every custom object before its own fields: Id, OwnerId, Name
    (Text, 80) and the audit fields."""
    audit = _audit()
    return [audit[0], ref("OwnerId", ["User", "Group"], "Owner", label="Owner ID", nillable=False),
            s("Name", 80, label=name_label), *audit[1:]]


def history_field_name(f: FieldDef) -> str:
    """How LeadHistory.Field names a tracked field: standard lookups by relationship
    (OwnerId -> Owner, PartnerAccountId -> PartnerAccount), everything else by API name."""
    if f.type == "reference" and not f.custom and f.relationship_name:
        return f.relationship_name
    return f.name


def name_history_fields(objects: dict[str, ObjectDef]) -> None:
    """LeadHistory.Field's picklist: the tracked Lead fields plus Salesforce's event names."""
    tracked = [history_field_name(f) for f in objects["Lead"].fields.values() if f.track_history]
    objects["LeadHistory"].fields["Field"].picklist_values = ["created", "ownerAssignment", *tracked]
