"""The words the Lead says to an admin: fields by the labels on the page, and how to have
a lead routed again. One place, so every reason says them alike.

An admin reads Routing_Reason__c on the record page, in list views and reports, where each
field shows by its label: Do_Not_Route__c is the box labelled Do Not Route, and a reason
that names the API name sends them to Setup to find out which box that is.
"""
from __future__ import annotations

# the labels of the Lead fields a reason names (salesforce/force-app: the shipped fields;
# Salesforce's own for the standard ones)
LABELS = {
    "OwnerId": "Lead Owner",
    "PartnerAccountId": "Partner Account",
    "Status": "Lead Status",
    "Routing_Status__c": "Routing Status",
    "Routing_Rule__c": "Routing Rule",
    "Routing_Reason__c": "Routing Reason",
    "Routing_Attempt__c": "Routing Attempt",
    "Offered_At__c": "Offered At",
    "Offer_Deadline__c": "Offer Deadline",
    "Offer_Calendar__c": "Offer Calendar",
    "Do_Not_Route__c": "Do Not Route",
    "Partner_Response__c": "Partner Response",
    "Rejection_Reason__c": "Rejection Reason",
    "Rejection_Reason_Code__c": "Rejection Reason Code",
}


def label(field: str) -> str:
    """A Lead field as the page shows it: its label where known, else its API name read as
    words (Stage__c: Stage; a standard lookup's Id left off), which is what a label usually is."""
    known = LABELS.get(field)
    if known:
        return known
    words = field.removesuffix("__c")
    if words == field and words.endswith("Id") and len(words) > 2:
        words = words[:-2]
    return words.replace("_", " ")


# What a released lead's reason ends with, and a refused write's: what setting Pending does.
# The connector never writes Pending: a lead reading it waits for the connector's next run.
ROUTE_AGAIN = "to have it routed again, set Routing Status to Pending: leadrouter routes it at its next run"
ROUTE_AGAIN_FIXED = "once fixed, set Routing Status to Pending: leadrouter routes it again at its next run"
REROUTED = "routed again because a person set Routing Status to Pending"

# Routing_Rule__c of a released lead: what released it. The rule of the offer that is over no
# longer decides anything, and left there it read as that rule still holding the lead.
RELEASED_BY_PERSON = "Taken over by a person"
RELEASED_BY_DO_NOT_ROUTE = "Do Not Route ticked"
DO_NOT_ROUTE = "Do Not Route is ticked"
DO_NOT_ROUTE_TICKED = f"{DO_NOT_ROUTE}: leadrouter keeps away from this lead"
# with the box ticked, Pending alone routes nothing: the box goes first
ROUTE_AGAIN_UNTICKED = ("to have it routed again, untick Do Not Route and set Routing Status to Pending: leadrouter "
                        "routes it at its next run")

# Routing_Rule__c of a lead the connector escalated itself (no partner took it, or none is
# left): capitalised as the other words it writes there, not an identifier of ours
ESCALATED = "Escalation"
# Routing_Rule__c of a lead back with its distributor once its resellers declined: the move
# that put it there, as an escalation's; the last reseller's hand-down rule, left there, told
# another story than the reason's "Back to the distributor"
BACK_TO_DISTRIBUTOR = "Back to the distributor"


# How the reason of a lead `leadrouter undo --apply` put back starts: the mark a rebuilt
# state finds it by (its Routing Status is empty again, as a new lead's), so it is not routed as new
PUT_BACK_BY_UNDO = "Put back by leadrouter undo"


def put_back_by_undo(run_id: str) -> str:
    return f"{PUT_BACK_BY_UNDO} --run {run_id}"


def escalation_held(queue: str) -> str:
    """What a lead held for want of the escalation queue says first: the queue by the name the
    admin knew it by, and what brings it back."""
    # the rules file's key is an identifier of ours: said in words ([settings] escalation queue)
    return f"Escalation held: queue {queue} is not in the org (create it, or name another as the rules' escalation queue)"


def field_labels(describe: dict) -> dict[str, str]:
    """{API name: label} of an object's fields, from its describe."""
    return {f["name"]: f["label"] for f in describe.get("fields", ()) if f.get("name") and f.get("label")}


def said(fields: tuple[str, ...] | list[str], labels: dict[str, str]) -> str:
    """Fields as a reason names them: each by the org's label, its API name where the org
    gave none (a field the describe did not answer for)."""
    return " / ".join(labels.get(f) or f for f in fields)
