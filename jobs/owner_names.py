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
from jobs.state import offers as of
from rules.lifecycle import LeadState

if TYPE_CHECKING:
    from jobs.context import Context

USER_PREFIX = "005"
CHUNK = 200  # ids per query: well inside SOQL's length
DONE = (LeadState.RELEASED.value, LeadState.CLOSED.value)


def new_owners(cx: Context, records: list[dict[str, Any]]) -> dict[str, str]:
    """{user id: name} of the users who own leads of this page that the state knew with
    another owner; empty when there are none or their names cannot be read."""
    reps = cx.routing().rep_partner  # a partner's rep is named from the partner snapshot
    ours = (cx.client.user_id or "")[:15]
    owners = {r["Id"]: r.get("OwnerId") or "" for r in records}
    owners = {k: v for k, v in owners.items() if v.startswith(USER_PREFIX) and v[:15] != ours and v not in reps}
    if not owners:
        return {}
    with cx.store.connect() as conn:
        known = of.get_leads(conn, list(owners))
    # a lead already released or closed is a person's: a new owner there is no takeover to say
    wanted = sorted({o for lead_id, o in owners.items() if lead_id in known and known[lead_id].get("owner_id") != o
                     and known[lead_id].get("state") not in DONE})
    return names(cx, wanted)


def names(cx: Context, user_ids: list[str]) -> dict[str, str]:
    """{user id: name}; the users it could not read are left out."""
    out: dict[str, str] = {}
    try:
        for i in range(0, len(user_ids), CHUNK):
            chunk = user_ids[i:i + CHUNK]
            for r in cx.client.query(select("User", ["Id", "Name"], where=format_soql("Id IN {}", chunk))):
                if r.get("Name"):
                    out[r["Id"]] = r["Name"]
                    out[r["Id"][:15]] = r["Name"]
    except ConnectorError as e:  # a name is a nicety: the Lead says the Id instead
        cx.log(component="owner_names").warning("owner_names_not_read", users=len(user_ids),
                                                error=f"{type(e).__name__}: {e}"[:300],
                                                fix="let the integration user read User (View Setup); the Lead "
                                                    "names the new owner by Id meanwhile")
    return out


def called(user_id: str | None, known: dict[str, str] | None) -> str:
    """A user as the reason names them: their name, else their Id."""
    if not user_id:
        return "nobody"
    found = (known or {}).get(user_id) or (known or {}).get(user_id[:15])
    return found or user_id
