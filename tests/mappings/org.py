"""A describe() of the org schema in docs/CONTRACTS.md §1, in Salesforce's JSON shape.

Built by hand from the contract table so mapping tests do not need the sandbox; the
end-to-end test checks the same defaults against the sandbox's real describe.
"""
from __future__ import annotations

import copy
from typing import Any

INDUSTRIES = ["Agriculture", "Apparel", "Banking", "Biotechnology", "Chemicals", "Communications",
              "Construction", "Consulting", "Education", "Electronics", "Energy", "Engineering",
              "Entertainment", "Environmental", "Finance", "Food & Beverage", "Government",
              "Healthcare", "Hospitality", "Insurance", "Machinery", "Manufacturing", "Media",
              "Not For Profit", "Recreation", "Retail", "Shipping", "Technology",
              "Telecommunications", "Transportation", "Utilities", "Other"]
PRODUCTS = ["Cloud Migration", "Data Platform", "Security Suite", "Analytics", "Networking",
            "Managed Services", "ERP Connector", "Edge Devices"]
LANGUAGES = "en de fr es it pt nl ja".split()


def field(name: str, type_: str = "string", *, updateable: bool = True, length: int = 0,
          values: list[str] | None = None, reference_to: list[str] | None = None,
          relationship: str | None = None) -> dict[str, Any]:
    return {
        "name": name, "type": type_, "updateable": updateable, "createable": updateable,
        "nillable": True, "length": length,
        "picklistValues": [{"value": v, "label": v, "active": True} for v in values or []],
        "referenceTo": reference_to or [], "relationshipName": relationship,
    }


def ref(name: str, *targets: str, updateable: bool = True) -> dict[str, Any]:
    rel = name[:-2] if name.endswith("Id") else name.replace("__c", "__r")
    return field(name, "reference", updateable=updateable, reference_to=list(targets), relationship=rel)


def text(name: str, length: int = 255, updateable: bool = True) -> dict[str, Any]:
    return field(name, "string", length=length, updateable=updateable)


def _lead() -> list[dict]:
    return [
        field("Id", "id", updateable=False), text("FirstName", 40), text("LastName", 80), text("Company"),
        text("Title", 128), field("Email", "email", length=80), field("Phone", "phone", length=40),
        field("Website", "url", length=255), field("Street", "textarea", length=255), text("City", 40),
        text("State", 80), text("PostalCode", 20), text("Country", 80), field("Latitude", "double"),
        field("Longitude", "double"), field("Industry", "picklist", values=INDUSTRIES),
        field("LeadSource", "picklist", values=["Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"]),
        field("Rating", "picklist", values=["Hot", "Warm", "Cold"]),
        field("Status", "picklist", values=["Open - Not Contacted", "Working - Contacted",
                                            "Closed - Converted", "Closed - Not Converted"]),
        field("NumberOfEmployees", "int"), field("AnnualRevenue", "currency"),
        field("Description", "textarea", length=32000), ref("OwnerId", "User", "Group"),
        ref("PartnerAccountId", "Account"), field("IsConverted", "boolean", updateable=False),
        field("ConvertedDate", "date", updateable=False), ref("ConvertedAccountId", "Account", updateable=False),
        field("IsDeleted", "boolean", updateable=False), field("CreatedDate", "datetime", updateable=False),
        field("LastModifiedDate", "datetime", updateable=False), field("SystemModstamp", "datetime", updateable=False),
        ref("CreatedById", "User", updateable=False), ref("LastModifiedById", "User", updateable=False),
        field("Routing_Status__c", "picklist", length=255,
              values=["Pending", "Offered", "Accepted", "Escalated", "Fallback", "Unroutable", "Released", "Closed"]),
        text("Routing_Rule__c", 80), text("Routing_Reason__c", 255), field("Routing_Attempt__c", "double"),
        field("Offered_At__c", "datetime"), field("Offer_Deadline__c", "datetime"), text("Offer_Calendar__c", 80),
        field("Partner_Response__c", "picklist", values=["Accepted", "Rejected"]),
        text("Rejection_Reason__c", 255),
        field("Rejection_Reason_Code__c", "picklist", values=["Out of territory", "No capacity",
                                                              "Not our product/industry", "Existing customer",
                                                              "Bad data", "Other"]),
        field("Do_Not_Route__c", "boolean"),
        field("Products__c", "multipicklist", values=PRODUCTS), field("Deal_Amount__c", "currency"),
        field("Expected_Close_Date__c", "date"),
        field("Preferred_Language__c", "picklist", values=LANGUAGES),
    ]


def _account() -> list[dict]:
    return [
        field("Id", "id", updateable=False), text("Name"), field("IsPartner", "boolean"), ref("ParentId", "Account"),
        field("BillingStreet", "textarea"), text("BillingCity", 40), text("BillingState", 80),
        text("BillingPostalCode", 20), text("BillingCountry", 80), field("BillingLatitude", "double"),
        field("BillingLongitude", "double"), field("Website", "url"), ref("OwnerId", "User"),
        field("SystemModstamp", "datetime", updateable=False),
        field("Partner_Tier__c", "picklist", values=["Registered", "Silver", "Gold", "Platinum"]),
        field("Partner_Programs__c", "multipicklist", values=["Preferred", "Cloud", "MSP", "Enterprise", "Public Sector"]),
        field("Partner_Role__c", "picklist", values=["Reseller", "Distributor"]),
        field("Certifications__c", "multipicklist", values=["AWS Migration", "Azure Migration", "GCP Migration",
                                                            "Security", "Data Analytics", "Networking", "SAP", "Kubernetes"]),
        field("Industries__c", "multipicklist", values=INDUSTRIES), field("Products__c", "multipicklist", values=PRODUCTS),
        field("Languages__c", "multipicklist", values=LANGUAGES), field("Coverage__c", "textarea", length=32768),
        field("Capacity__c", "double"), field("Daily_Cap__c", "double"), field("Routing_Weight__c", "double"),
        field("Routing_Paused__c", "boolean"), field("Service_Radius_Km__c", "double"),
        field("Enterprise_Team__c", "boolean"), text("Time_Zone__c", 40),
        field("Working_Days__c", "multipicklist",
              values=["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]),
    ]


def _opportunity() -> list[dict]:
    return [
        field("Id", "id", updateable=False), text("Name", 120), ref("AccountId", "Account"),
        field("StageName", "picklist", values=["Prospecting", "Qualification", "Closed Won", "Closed Lost"]),
        field("CloseDate", "date"), field("Amount", "currency"), ref("PartnerAccountId", "Account"),
        field("Deal_Registration_Status__c", "picklist", values=["Submitted", "Approved", "Rejected", "Expired"]),
        field("Registration_Expires__c", "date"), text("Registered_Company__c"), text("Registered_Email_Domain__c"),
    ]


def _user() -> list[dict]:
    return [
        field("Id", "id", updateable=False), text("Username", 80), text("Name", 121), text("FirstName", 40),
        text("LastName", 80), field("Email", "email", length=128), field("IsActive", "boolean"),
        field("UserType", "picklist", updateable=False, values=["Standard", "PowerPartner"]),
        ref("AccountId", "Account", updateable=False), ref("ContactId", "Contact"),
        field("TimeZoneSidKey", "picklist", values=["America/Los_Angeles", "Europe/Berlin"]),
        field("LanguageLocaleKey", "picklist", values=["en_US", "de"]), ref("ProfileId", "Profile"),
    ]


def _group() -> list[dict]:
    return [field("Id", "id", updateable=False), text("Name", 40), text("DeveloperName", 80),
            field("Type", "picklist", values=["Queue", "Regular"]), field("Email", "email")]


def _group_member() -> list[dict]:
    return [field("Id", "id", updateable=False), ref("GroupId", "Group"), ref("UserOrGroupId", "User", "Group")]


_OBJECTS = {"Lead": _lead, "Account": _account, "Opportunity": _opportunity, "User": _user,
            "Group": _group, "GroupMember": _group_member}


def contract_org() -> dict[str, dict]:
    """{sobject: describe} — a fresh copy each call, so a test may edit its own."""
    return {name: {"name": name, "fields": make()} for name, make in _OBJECTS.items()}


def field_of(org: dict[str, dict], sobject: str, name: str) -> dict:
    return next(f for f in org[sobject]["fields"] if f["name"] == name)


def without(org: dict[str, dict], sobject: str, name: str) -> dict[str, dict]:
    out = copy.deepcopy(org)
    out[sobject]["fields"] = [f for f in out[sobject]["fields"] if f["name"] != name]
    return out
