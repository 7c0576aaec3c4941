"""What every sandbox org has before any seeding: the integration user, an admin,
and the queues the product's contracts name (docs/CONTRACTS.md §1)."""
from __future__ import annotations

import secrets

from typing import Protocol

from sandbox import ids
from sandbox.metadata import notification_types
from sandbox.schema import default_sfdx_dir


class Org(Protocol):
    """What bootstrapping writes to: the store's Org, named here by what is used of it
    (sandbox.store calls `bootstrap_org` from Org's constructor; importing the store
    back would close an import circle)."""

    integration_user_id: str
    admin_user_id: str
    queue_ids: dict[str, str]

    def create(self, sobject: str, fields: dict, *, as_user: str | None = None, auto_assign: bool = False,
               system: bool = False) -> str: ...

INTEGRATION_USERNAME = "integration@leadrouter.sandbox"
ADMIN_USERNAME = "admin@leadrouter.sandbox"
# DeveloperName -> label; Inside_Sales is where the org's active lead assignment rule sends leads
BOOTSTRAP_QUEUES = {
    "Inside_Sales": "Inside Sales",
    "Channel_Escalations": "Channel Escalations",
    "Unassigned_Partner_Leads": "Unassigned Partner Leads",
}


ORG_NAME = "LeadRouter Sandbox"


def bootstrap_org(org: Org) -> None:
    # the integration user creates everything, itself included: reserve its id first
    org.integration_user_id = ids.make_id(ids.PREFIXES["User"], 1)
    created = org.create(
        "User",
        {"Username": INTEGRATION_USERNAME, "FirstName": "LeadRouter", "LastName": "Integration",
         "Alias": "lrint", "Email": "integration@leadrouter.sandbox", "UserType": "Standard",
         "TimeZoneSidKey": "GMT"},
    )  # fmt: skip
    assert created == org.integration_user_id, "the integration user must be the org's first user"
    # the org's own row: its id is the one OAuth hands out in identity URLs and session ids.
    # Every real org has its own; two sandboxes sharing one would let a state database
    # move between them unnoticed (jobs/state/orgs.py checks it), so each draws its own.
    org._serials[ids.PREFIXES["Organization"]] = secrets.randbelow(62 ** 6)
    org.organization_id = org.create("Organization", {"Name": ORG_NAME, "OrganizationType": "Developer Edition", "IsSandbox": True,
                                "InstanceName": "SBX1", "DefaultLocaleSidKey": "en_US",
                                "LanguageLocaleKey": "en_US", "TimeZoneSidKey": "GMT",
                                "FiscalYearStartMonth": 1, "UsesStartDateAsFiscalYearName": False}, system=True)  # fmt: skip
    org.admin_user_id = org.create(
        "User",
        {"Username": ADMIN_USERNAME, "FirstName": "Sandbox", "LastName": "Admin", "Alias": "admin",
         "Email": "admin@leadrouter.sandbox", "UserType": "Standard"},
    )  # fmt: skip
    for developer_name, label in BOOTSTRAP_QUEUES.items():
        add_queue(org, developer_name, label)
    # what customNotificationAction needs: the types the shipped metadata deploys (salesforce/)
    for name, label in notification_types(default_sfdx_dir()):
        org.create("CustomNotificationType", {"DeveloperName": name, "MasterLabel": label})


def add_queue(org: Org, developer_name: str, label: str, sobjects: tuple[str, ...] = ("Lead",)) -> str:
    """A queue (Group of Type Queue) that can own the given objects; registered in org.queue_ids."""
    queue_id = org.create("Group", {"Name": label, "DeveloperName": developer_name, "Type": "Queue"})
    for sobject in sobjects:
        org.create("QueueSobject", {"QueueId": queue_id, "SobjectType": sobject})
    org.queue_ids[developer_name] = queue_id
    return queue_id
