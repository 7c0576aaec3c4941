"""Text lengths as Salesforce counts them: in UTF-16 code units, the way Java (and so Apex's
String, and formula LEN) counts, where a 4-byte character (an emoji, a rare CJK ideograph)
takes two. A partner's Account Name of 127 emoji and a letter is 255 and fits its field; a
reason quoting it, cut to 255 Python characters, is ~440 units and refused
(STRING_TOO_LONG) — the whole offer write with it. So is an alert title of 250.
"""
from __future__ import annotations

from typing import Any

import pytest

from jobs.cli import main

from .harness import ROOMY, config_text
from .lead_cases import BASE

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("test_utf16_lengths")]

NAME = "😀" * 127 + "x"  # 255 UTF-16 code units: as long as an Account Name may be
COMPANY = "🚀" * 127 + "y"  # as long as a Company may be


def units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@pytest.fixture(scope="module")
def routed(tmp_path_factory) -> Any:
    import sandbox

    directory = tmp_path_factory.mktemp("utf16")
    sb = sandbox.start(directory / "org", seed="demo", partners=10, leads=0, autosave=None)
    try:
        partners = [a for a in sb.org.records("Account") if a.get("IsPartner")]
        for account in partners:
            sb.org.update("Account", account["Id"], ROOMY)
        covering = next(a for a in partners if a.get("Coverage__c") == "US-CA")  # BASE is in San Francisco
        sb.org.update("Account", covering["Id"], {"Name": NAME})
        lead = sb.org.create("Lead", {**BASE, "Company": COMPANY}, as_user=sb.org.admin_user_id)
        type_id = next(r["Id"] for r in sb.org.records("CustomNotificationType"))
        extra = (f'\n[notifications]\nmode = "custom"\noffer_alert = "custom"\n'
                 f'custom_notification_type_id = "{type_id}"\n')
        config = directory / "leadrouter.toml"
        config.write_text(config_text(sb.connection, extra=extra), encoding="utf-8")
        code = main(["once", "--init", "--config", str(config)])
        yield sb, lead, code
    finally:
        sb.stop()


def test_the_org_counts_a_four_byte_character_as_two(routed):
    from sandbox.errors import SalesforceError

    sb = routed[0]
    assert sb.org.create("Lead", {**BASE, "Company": COMPANY, "Do_Not_Route__c": True})
    with pytest.raises(SalesforceError, match="STRING_TOO_LONG"):
        sb.org.create("Lead", {**BASE, "Company": COMPANY + "z"})


def test_a_reason_quoting_a_name_of_emoji_is_cut_to_what_the_field_holds(routed):
    sb, lead_id, code = routed
    assert code == 0
    lead = sb.org.get("Lead", lead_id)
    assert lead["Routing_Status__c"] == "Offered", lead["Routing_Reason__c"]
    reason = lead["Routing_Reason__c"]
    assert units(reason) <= 255 and reason.endswith("…") and "😀" in reason


def test_an_alert_title_with_a_company_of_emoji_is_cut_to_what_a_notification_holds(routed):
    sb, lead_id, _ = routed
    alerts = [n for n in sb.notifications.all("customNotificationAction") if n.inputs.get("targetId") == lead_id]
    assert alerts, "the offered rep is told"
    title = alerts[0].inputs["title"]
    assert units(title) <= 250 and title.endswith("…") and "🚀" in title
    assert not [t for t in sb.org.records("Task") if t["Subject"] == "Offer alert not sent"]
