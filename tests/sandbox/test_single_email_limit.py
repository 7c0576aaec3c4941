"""The org's daily single-email limit as Salesforce documents it for the emailSimple action
(Actions Developer Guide, "Simple Email Actions"): an email that is logged (logEmailOnSend)
or uses a template counts against it (from API 244.0; one that does neither counts against
the daily workflow email limit instead); single emails to at most 5,000 *external email
addresses* per day, the day by Greenwich Mean Time; an email to a user of the org by their
id does not count (Salesforce Help, "Daily limits for sending single emails using API
methods": an email to a User through setTargetObjectId is not counted). `/limits` says what
is left as `SingleEmail`; past it, the input is refused with SINGLE_EMAIL_LIMIT_EXCEEDED and
nothing is sent."""
from __future__ import annotations

from datetime import timedelta

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from tests.conftest import salesforce_client


def _email(sf, **to):
    return sf.restful("actions/standard/emailSimple", method="POST",
                      json={"inputs": [{"emailSubject": "Offer", "emailBody": "A lead for you", "logEmailOnSend": True,
                                        **to}]})


def _left(sf) -> int:
    return sf.limits()["SingleEmail"]["Remaining"]


def test_emails_to_addresses_count_per_gmt_day_and_emails_to_users_do_not(sandbox, sf):
    sandbox.org.single_email_max = 3
    assert sf.limits()["SingleEmail"]["Max"] == 3
    for _ in range(5):
        _email(sf, recipientId=sandbox.org.admin_user_id)
    assert _left(sf) == 3, "an email to a user of the org by id is not counted"
    _email(sf, emailAddresses="a@partner.example, b@partner.example")
    assert _left(sf) == 1
    with pytest.raises(SalesforceMalformedRequest) as refused:
        _email(sf, emailAddresses="c@partner.example,d@partner.example")
    [result] = refused.value.content
    assert result["isSuccess"] is False and result["errors"][0]["statusCode"] == "SINGLE_EMAIL_LIMIT_EXCEEDED"
    assert len(sandbox.notifications.all("emailSimple")) == 6, "the refused email was not sent"
    _email(sf, emailAddressesArray=["c@partner.example"])
    assert _left(sf) == 0
    _email(sf, recipientId=sandbox.org.admin_user_id)  # users are still told
    sf.restful("actions/standard/emailSimple", method="POST", json={"inputs": [  # not logged: not this limit
        {"emailSubject": "Offer", "emailBody": "A lead for you", "emailAddresses": "e@partner.example"}]})
    # the count starts again at midnight GMT, not 24 hours after the first email
    now = sandbox.clock.now()
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    sandbox.clock.advance(midnight - now - timedelta(seconds=1))
    fresh = salesforce_client(sandbox)  # a day on, the first session has expired
    try:
        assert _left(fresh) == 0
        sandbox.clock.advance(timedelta(seconds=2))
        assert _left(fresh) == 3
    finally:
        fresh.session.close()


def test_an_email_to_a_deactivated_user_is_refused_and_not_sent(sandbox, sf):
    """A partner rep deactivated in Setup is no recipient: the input is refused (the code is
    Apex's for a bad target object; the exact code Salesforce gives is not confirmed)."""
    rep = sandbox.org.admin_user_id  # any user but the one calling
    sandbox.org.update("User", rep, {"IsActive": False})
    with pytest.raises(SalesforceMalformedRequest) as refused:
        _email(sf, recipientId=rep)
    [result] = refused.value.content
    assert result["errors"][0]["statusCode"] == "INVALID_ID_FIELD"
    assert not sandbox.notifications.all("emailSimple")


def test_an_email_to_a_user_about_a_record_is_refused_as_a_single_email_to_a_user_is(sandbox, sf):
    """A single email's related ("what") record goes only with a contact as its target:
    to a user by id, Salesforce refuses it (INVALID_ID_FIELD, "WhatId is not available for
    sending emails to UserIds"). The stand-in refuses it with or without logging."""
    lead = sandbox.org.create("Lead", {"LastName": "Lee", "Company": "Acme"})
    with pytest.raises(SalesforceMalformedRequest) as refused:
        _email(sf, recipientId=sandbox.org.admin_user_id, relatedRecordId=lead)
    [result] = refused.value.content
    assert result["errors"][0]["statusCode"] == "INVALID_ID_FIELD"
    assert "WhatId" in result["errors"][0]["message"]
    assert not sandbox.notifications.all("emailSimple")
