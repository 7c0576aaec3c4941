"""SOSL over HTTPS (`GET /search?q=FIND {...}`), as an admin searches an org: words
matched case-insensitively in the chosen fields, wildcards, RETURNING with its own
WHERE/LIMIT, and Salesforce's errors for a short term or a search without braces."""
from __future__ import annotations

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

import sandbox
from tests.conftest import salesforce_client


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    with sandbox.start(tmp_path_factory.mktemp("sosl"), autosave=None) as sb:
        create = sb.org.create
        sb.ids = {  # type: ignore[attr-defined]
            "acme_corp": create("Lead", {"LastName": "Doe", "FirstName": "Jane", "Company": "Acme Corp",
                                         "Email": "jane.doe@acme.example", "Phone": "(555) 010-0123"}),
            "acme_gmbh": create("Lead", {"LastName": "Muster", "Company": "acme GmbH", "Status": "Working - Contacted"}),
            "acmeville": create("Lead", {"LastName": "Town", "Company": "Acmeville Ltd", "Description": "near Globex"}),
            "globex": create("Lead", {"LastName": "Acme", "Company": "Globex"}),
            "deleted": create("Lead", {"LastName": "Gone", "Company": "Acme Deleted"}),
            "account": create("Account", {"Name": "Acme Partners", "IsPartner": True}),
        }  # fmt: skip
        sb.org.delete("Lead", sb.ids["deleted"])  # type: ignore[attr-defined]
        yield sb


@pytest.fixture(scope="module")
def sf(org) -> Salesforce:
    client = salesforce_client(org)
    yield client
    client.session.close()


def found(sf: Salesforce, sosl: str) -> list[str]:
    return [r["Id"] for r in sf.search(sosl)["searchRecords"]]


def test_find_returns_search_records_with_the_fields_asked_for(sf, org):
    ids = org.ids
    result = sf.search(
        "FIND {Acme} IN ALL FIELDS RETURNING Lead(Id, Company WHERE Status = 'Open - Not Contacted' LIMIT 5), "
        "Account(Id, Name)"
    )
    assert list(result) == ["searchRecords"]
    assert result["searchRecords"] == [
        {"attributes": {"type": "Lead", "url": f"/services/data/v62.0/sobjects/Lead/{ids['acme_corp']}"},
         "Id": ids["acme_corp"], "Company": "Acme Corp"},
        {"attributes": {"type": "Lead", "url": f"/services/data/v62.0/sobjects/Lead/{ids['globex']}"},
         "Id": ids["globex"], "Company": "Globex"},
        {"attributes": {"type": "Account", "url": f"/services/data/v62.0/sobjects/Account/{ids['account']}"},
         "Id": ids["account"], "Name": "Acme Partners"},
    ]  # fmt: skip


def test_words_match_whole_and_case_insensitively_wildcards_widen(sf, org):
    ids = org.ids
    assert found(sf, "FIND {ACME} RETURNING Lead") == [ids["acme_corp"], ids["acme_gmbh"], ids["globex"]]
    assert found(sf, "FIND {acme*} RETURNING Lead(Id)") == [ids["acme_corp"], ids["acme_gmbh"], ids["acmeville"], ids["globex"]]  # noqa: E501
    assert found(sf, "FIND {acm?} RETURNING Lead(Id)") == [ids["acme_corp"], ids["acme_gmbh"], ids["globex"]]
    assert found(sf, "FIND {Acme} IN NAME FIELDS RETURNING Lead(Id ORDER BY LastName DESC)") == [
        ids["acme_gmbh"], ids["acme_corp"], ids["globex"],
    ]  # fmt: skip
    assert found(sf, 'FIND {"Acme Corp"} RETURNING Lead') == [ids["acme_corp"]]
    assert found(sf, "FIND {Acme AND NOT Globex} RETURNING Lead") == [ids["acme_corp"], ids["acme_gmbh"]]
    assert found(sf, "FIND {Globex OR GmbH} RETURNING Lead") == [ids["acme_gmbh"], ids["acmeville"], ids["globex"]]
    assert found(sf, "FIND {Acme Globex} RETURNING Lead") == [ids["globex"]]  # words side by side: all must match


def test_email_and_phone_fields(sf, org):
    assert found(sf, "FIND {jane.doe@acme.example} IN EMAIL FIELDS RETURNING Lead(Id)") == [org.ids["acme_corp"]]
    assert found(sf, "FIND {Acme} IN EMAIL FIELDS RETURNING Lead(Id)") == [org.ids["acme_corp"]]
    assert found(sf, "FIND {5550100123} IN PHONE FIELDS RETURNING Lead(Id)") == [org.ids["acme_corp"]]
    assert found(sf, "FIND {Acme} IN PHONE FIELDS RETURNING Lead(Id)") == []


def test_without_returning_every_searchable_object_answers_its_ids(sf, org):
    result = sf.search("FIND {Acme}")["searchRecords"]
    assert {(r["attributes"]["type"], r["Id"]) for r in result} == {
        ("Account", org.ids["account"]), ("Lead", org.ids["acme_corp"]), ("Lead", org.ids["acme_gmbh"]),
        ("Lead", org.ids["globex"]),
    }  # fmt: skip
    assert all(set(r) == {"attributes", "Id"} for r in result)
    assert found(sf, "FIND {Acme} RETURNING Lead(Id), Account(Id) LIMIT 2") == [org.ids["acme_corp"], org.ids["acme_gmbh"]]


def error_of(sf: Salesforce, sosl: str) -> dict:
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.search(sosl)
    (error,) = info.value.content
    return error


def test_salesforce_errors(sf):
    assert error_of(sf, "FIND {a} RETURNING Lead") == {
        "errorCode": "INVALID_SEARCH", "fields": [], "message": "search term must be longer than one character: a",
    }  # fmt: skip
    assert error_of(sf, "FIND {a*}")["errorCode"] == "INVALID_SEARCH"
    assert error_of(sf, "FIND Acme RETURNING Lead") == {
        "errorCode": "MALFORMED_SEARCH", "fields": [],
        "message": "No search term found. The search term must be enclosed in braces.",
    }  # fmt: skip
    assert error_of(sf, "FIND {Acme} RETURNING Nope__c(Id)")["errorCode"] == "INVALID_TYPE"
    error = error_of(sf, "FIND {Acme} RETURNING Lead(Id, Nope)")
    assert error["errorCode"] == "INVALID_FIELD" and "No such column 'Nope' on entity 'Lead'" in error["message"]
    assert error_of(sf, "FIND {Acme} IN EVERY FIELDS")["errorCode"] == "MALFORMED_SEARCH"
