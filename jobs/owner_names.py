"""Who a lead's new owner is, as an admin knows them: the user's name.

A Released lead's reason says who took it over; an Id (005…) means nothing on the page.
The names are read in one query per page of leads, before the page's transaction (no call
to Salesforce is made inside it), and only for users who own a lead the state knew with
another owner, not yet released or closed, and who are no partner's rep (the partner
snapshot names those): a person of the org taking a lead over, which is rare. A name that
cannot be read (the query fails, the user is not visible) leaves the Id: the one thing we
have of them.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from connector.errors import ConnectorError
from connector.soql import format_soql, select
from jobs.lead_words import field_labels
from jobs.state import offers as of
from rules.lifecycle import LeadState

if TYPE_CHECKING:
    from jobs.context import Context

USER_PREFIX = "005"
ACCOUNT_PREFIX = "001"
CHUNK = 200  # ids per query: well inside SOQL's length
DONE = (LeadState.RELEASED.value, LeadState.CLOSED.value)


def new_owners(cx: Context, records: list[dict[str, Any]]) -> dict[str, str]:
    """{user id: name} of the users who own leads of this page that the state knew with
    another owner; empty when there are none or their names cannot be read."""
    routing = cx.routing()
    reps = routing.rep_partner  # a partner's rep is named from the partner snapshot
    ours = (cx.client.user_id or "")[:15]
    owners = {r["Id"]: r.get("OwnerId") or "" for r in records}
    owners = {k: v for k, v in owners.items() if v.startswith(USER_PREFIX) and v[:15] != ours and v not in reps}
    # a partner account set by a person that the snapshot has no name for (no partner, or
    # one the partner filter leaves out) is named by its Account's Name, read with the page
    field = (cx.mappings.source_fields("lead").get("partner_id") or ("PartnerAccountId",))[0]
    accounts = {r["Id"]: r.get(field) for r in records}
    accounts = {k: v for k, v in accounts.items() if isinstance(v, str) and v.startswith(ACCOUNT_PREFIX)
                and routing.partner_name(v) is None}
    if not owners and not accounts:
        return {}
    with cx.store.connect() as conn:
        known = of.get_leads(conn, sorted({*owners, *accounts}))
    live = {k: v for k, v in known.items() if v.get("state") not in DONE}
    # a lead already released or closed is a person's: a new owner there is no takeover to say
    wanted = sorted({o for lead_id, o in owners.items() if lead_id in live and live[lead_id].get("owner_id") != o})
    unnamed = sorted({a for lead_id, a in accounts.items() if lead_id in live})
    return {**names(cx, wanted), **(names(cx, unnamed, "Account") if unnamed else {})}


def names(cx: Context, user_ids: list[str], sobject: str = "User") -> dict[str, str]:
    """{user id: name} (or of another object's records: `sobject`); those it could not read are left out."""
    out: dict[str, str] = {}
    if not user_ids:
        return out
    try:
        for i in range(0, len(user_ids), CHUNK):
            chunk = user_ids[i:i + CHUNK]
            for r in cx.client.query(select(sobject, ["Id", "Name"], where=format_soql("Id IN {}", chunk))):
                if r.get("Name"):
                    out[r["Id"]] = r["Name"]
                    out[r["Id"][:15]] = r["Name"]
    except ConnectorError as e:  # a name is a nicety: the Lead says the Id instead
        cx.log(component="owner_names").warning("owner_names_not_read", users=len(user_ids), sobject=sobject,
                                                error=f"{type(e).__name__}: {e}"[:300],
                                                fix=f"let the integration user read {sobject} (View Setup); the Lead "
                                                    "names it by Id meanwhile")
    return out


def called(user_id: str | None, known: dict[str, str] | None) -> str:
    """A user as the reason names them: their name, else their Id."""
    if not user_id:
        return "nobody"
    found = (known or {}).get(user_id) or (known or {}).get(user_id[:15])
    return found or user_id


def lead_labels(cx: Context) -> dict[str, str]:
    """{API name: label} of the lead object's fields, as the org's describe gives them (the
    start describes the Lead: that one is used); empty when the org would not say, and the
    Lead names its fields by their API names meanwhile."""
    ms = cx.mappings
    describe = getattr(cx.client, "describe", None)
    if ms.field_labels is None and describe is not None:
        try:
            ms.use_labels(field_labels(describe(ms.sobject("lead"))))
        except ConnectorError as e:
            cx.log(component="owner_names").warning("field_labels_not_read", error=f"{type(e).__name__}: {e}"[:300],
                                                    fix="let the integration user describe the Lead; reasons name "
                                                        "its fields by their API names meanwhile")
            return {}
    return ms.field_labels or {}


def described_labels(client: Any, ms: Any) -> None:
    """At a start: the lead object's labels, where the start's own checks described it (no
    call of its own)."""
    cached = getattr(getattr(client, "schema", None), "cached", None)
    sobject = ms.sobject("lead")
    if cached is not None and sobject.lower() in {name.lower() for name in cached()}:
        ms.use_labels(field_labels(client.describe(sobject)))
