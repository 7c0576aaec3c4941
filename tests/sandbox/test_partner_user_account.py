"""A partner user's account is its contact's: Salesforce derives User.AccountId from the
contact and never lets the two disagree. The sandbox takes AccountId on create (its seeds
set both), but refuses one the contact contradicts, so no test builds a rep whose account
no real org could give it."""
from __future__ import annotations

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

pytestmark = pytest.mark.e2e


def _user(contact: str, account: str | None = None) -> dict:
    fields = {"Username": "rep@elsewhere.example.partner", "LastName": "Rep", "Email": "rep@elsewhere.example",
              "Alias": "rep", "UserType": "PowerPartner", "ContactId": contact}
    return {**fields, "AccountId": account} if account else fields


def test_a_partner_users_account_comes_from_its_contact_and_is_never_another(sf):
    mine = sf.Account.create({"Name": "Mine GmbH", "IsPartner": True})["id"]
    other = sf.Account.create({"Name": "Other GmbH", "IsPartner": True})["id"]
    contact = sf.Contact.create({"LastName": "Rep", "AccountId": mine})["id"]

    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.User.create(_user(contact, other))
    assert refused.value.content[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    assert refused.value.content[0]["fields"] == ["AccountId"]

    user = sf.User.create(_user(contact))["id"]
    assert sf.User.get(user)["AccountId"] == mine
