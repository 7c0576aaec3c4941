"""Parent-to-child subqueries (`SELECT Name, (SELECT LastName FROM Contacts) FROM Account`)
through simple-salesforce over HTTPS, as Salesforce documents them: the child relationship
names describe advertises, the nested result shape, nesting and count limits, the errors."""
from __future__ import annotations

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest


def refused(sf, soql: str) -> dict:
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.query(soql)
    (error,) = info.value.content
    return error


@pytest.fixture
def accounts(sandbox):
    org = sandbox.org
    acme = org.create("Account", {"Name": "Acme"})
    bare = org.create("Account", {"Name": "Bare"})
    for name in ("Zed", "Amy", "Kim"):
        org.create("Contact", {"LastName": name, "Email": f"{name.lower()}@acme.test", "AccountId": acme})
    org.create("Opportunity", {"Name": "Big deal", "AccountId": acme, "StageName": "Prospecting", "CloseDate": "2024-06-30"})  # fmt: skip
    return {"Acme": acme, "Bare": bare}


def test_children_come_nested_under_the_relationship_name_or_null_when_there_are_none(sf, accounts):
    page = sf.query(
        "SELECT Id, Name, (SELECT Id, LastName, Account.Name FROM Contacts WHERE LastName != 'Kim' ORDER BY LastName) "
        "FROM Account ORDER BY Name"
    )
    acme, bare = page["records"]
    assert page["totalSize"] == 2 and list(acme) == ["attributes", "Id", "Name", "Contacts"]
    contacts = acme["Contacts"]
    assert contacts["totalSize"] == 2 and contacts["done"] is True
    assert [c["LastName"] for c in contacts["records"]] == ["Amy", "Zed"]
    first = contacts["records"][0]
    assert first["attributes"] == {"type": "Contact", "url": f"/services/data/v62.0/sobjects/Contact/{first['Id']}"}
    assert first["Account"]["Name"] == "Acme"
    assert bare["Contacts"] is None


def test_the_subquery_keeps_its_place_in_the_select_list_and_takes_limit_and_order(sf, accounts):
    record = sf.query(
        f"SELECT Name, (SELECT LastName FROM Contacts ORDER BY LastName DESC LIMIT 2), Id, "
        f"(SELECT Name FROM Opportunities) FROM Account WHERE Id = '{accounts['Acme']}'"
    )["records"][0]
    assert list(record) == ["attributes", "Name", "Contacts", "Id", "Opportunities"]
    assert [c["LastName"] for c in record["Contacts"]["records"]] == ["Zed", "Kim"]
    assert record["Contacts"]["totalSize"] == 2
    assert record["Opportunities"]["records"][0]["Name"] == "Big deal"


def test_the_relationship_may_be_qualified_by_the_parent_and_any_case_answers_as_describe_spells_it(sf, accounts):
    record = sf.query(f"SELECT Id, (SELECT contact.LastName FROM account.contacts) FROM Account WHERE Id = '{accounts['Acme']}'")["records"][0]  # fmt: skip
    assert record["Contacts"]["totalSize"] == 3


def test_every_child_relationship_describe_advertises_can_be_queried_and_no_other(sandbox, sf):
    """describe's childRelationships and the subqueries SOQL takes are one list: sf data export
    tree and composite/tree rely on the names agreeing."""
    checked = 0
    for obj in ("Account", "Lead", "Group", "Contact", "User", "Opportunity"):
        described = sf.restful(f"sobjects/{obj}/describe")
        for rel in described["childRelationships"]:
            if rel["relationshipName"] is None:
                continue
            child_field = rel["field"]
            page = sf.query(f"SELECT Id, (SELECT Id, {child_field} FROM {rel['relationshipName']}) FROM {obj} LIMIT 1")
            assert page["done"] is True
            checked += 1
    assert checked >= 8
    error = refused(sf, "SELECT Id, (SELECT Id FROM Leads) FROM Account")  # Lead has no AccountId
    assert error["errorCode"] == "INVALID_TYPE"
    assert error["message"].endswith(
        "ERROR at Row:1:Column:28\nDidn't understand relationship 'Leads' in FROM part of query call. If you are "
        "attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. "
        "Please reference your WSDL or the describe call for the appropriate names."
    )


def test_deleted_children_are_left_out(sandbox, sf, accounts):
    gone = sandbox.org.create("Contact", {"LastName": "Gone", "AccountId": accounts["Bare"]})
    sandbox.org.delete("Contact", gone)
    record = sf.query(f"SELECT Id, (SELECT Id FROM Contacts) FROM Account WHERE Id = '{accounts['Bare']}'")["records"][0]
    assert record["Contacts"] is None


def test_subqueries_nest_four_levels_below_the_root_from_api_58_and_one_before(sandbox, sf, sf_for):
    org = sandbox.org
    top = org.create("Account", {"Name": "L0"})
    parent = top
    for level in range(1, 4):
        parent = org.create("Account", {"Name": f"L{level}", "ParentId": parent})
    org.create("Contact", {"LastName": "Deep", "AccountId": parent})

    def nested(levels: int, inner: str) -> str:
        soql = inner
        for _ in range(levels):
            soql = f"SELECT Name, ({soql}) FROM ChildAccounts"
        return soql

    four = nested(3, "SELECT LastName FROM Contacts")  # ChildAccounts x3, then Contacts: 4 below the root
    record = sf.query(f"SELECT Name, ({four}) FROM Account WHERE Id = '{top}'")["records"][0]
    level = record
    for _ in range(3):
        level = level["ChildAccounts"]["records"][0]
    assert level["Name"] == "L3" and level["Contacts"]["records"][0]["LastName"] == "Deep"

    five = nested(4, "SELECT LastName FROM Contacts")
    error = refused(sf, f"SELECT Name, ({five}) FROM Account")
    assert error["errorCode"] == "MALFORMED_QUERY"
    assert "cannot query aggregate relationships more than 4 levels away from the root entity object" in error["message"]

    old = sf_for(sandbox, version="57.0")
    assert old.query("SELECT Name, (SELECT LastName FROM Contacts) FROM Account")["totalSize"] == 4
    error = refused(old, f"SELECT Name, ({nested(1, 'SELECT LastName FROM Contacts')}) FROM Account")
    assert error["message"].endswith(
        "SOQL statements cannot query aggregate relationships more than 1 level away from the root entity object."
    )


def test_at_most_twenty_subqueries_in_a_query(sf, accounts):
    """Account has five named child relationships (Lead's Histories under PartnerLeads), and
    ChildAccounts opens the same again one level down: 22 in all, four levels deep."""

    def select_list(depth: int, leave_out: set[tuple[int, str]]) -> str:
        subs = {"Contacts": "Id", "Opportunities": "Id", "Users": "Id",
                "PartnerLeads": "Id" + (", (SELECT Id FROM Histories)" if depth < 3 else "")}  # fmt: skip
        if depth < 3:
            subs["ChildAccounts"] = "Id, " + select_list(depth + 1, leave_out)
        return ", ".join(f"(SELECT {fields} FROM {rel})" for rel, fields in subs.items() if (depth, rel) not in leave_out)

    twenty = f"SELECT Id, {select_list(0, {(0, 'Users'), (1, 'Users')})} FROM Account"
    twenty_one = f"SELECT Id, {select_list(0, {(0, 'Users')})} FROM Account"
    assert (twenty.count("SELECT") - 1, twenty_one.count("SELECT") - 1) == (20, 21)
    assert sf.query(twenty)["totalSize"] == 2
    error = refused(sf, twenty_one)
    assert error["errorCode"] == "MALFORMED_QUERY"
    assert error["message"].endswith("No more than 20 parent-to-child relationships can be specified in a query")


def test_what_salesforce_refuses_in_a_subquery(sf, accounts):
    twice = refused(sf, "SELECT Id, (SELECT Id FROM Contacts), (SELECT LastName FROM Contacts) FROM Account")
    assert twice["message"].endswith("Cannot follow the same aggregate relationship twice: Contacts")
    aggregate = refused(sf, "SELECT Id, (SELECT COUNT(Id) FROM Contacts) FROM Account")
    assert aggregate["errorCode"] == "MALFORMED_QUERY"
    grouped = refused(sf, "SELECT COUNT(Id), (SELECT Id FROM Contacts) FROM Account")
    assert grouped["errorCode"] == "MALFORMED_QUERY"
    offset = refused(sf, "SELECT Id, (SELECT Id FROM Contacts LIMIT 1 OFFSET 1) FROM Account")
    assert offset["message"].endswith("OFFSET is allowed in a subquery only when the outer query has LIMIT 1")
    one = sf.query(f"SELECT Id, (SELECT LastName FROM Contacts ORDER BY LastName LIMIT 1 OFFSET 1) FROM Account "
                   f"WHERE Id = '{accounts['Acme']}' LIMIT 1")  # fmt: skip
    assert [c["LastName"] for c in one["records"][0]["Contacts"]["records"]] == ["Kim"]
    nested = refused(sf, "SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact WHERE Id IN (SELECT WhoId FROM Task))")
    assert nested["errorCode"] == "MALFORMED_QUERY" and "Nesting of semi join sub-selects" in nested["message"]
    path = refused(sf, "SELECT Id FROM Account WHERE Contacts.LastName = 'Amy'")
    assert path["errorCode"] == "INVALID_FIELD" and "Didn't understand relationship 'Contacts'" in path["message"]


def test_child_records_count_toward_the_batch_size(sandbox, sf):
    org = sandbox.org
    ids = [org.create("Account", {"Name": f"A{i}"}) for i in range(3)]
    for account in ids:
        for j in range(150):
            org.create("Contact", {"LastName": f"C{j:03d}", "AccountId": account})
    sf.headers["Sforce-Query-Options"] = "batchSize=200"
    page = sf.query("SELECT Id, (SELECT Id FROM Contacts) FROM Account ORDER BY Name")
    pages = [page]
    while not page["done"]:
        page = sf.query_more(page["nextRecordsUrl"], identifier_is_url=True)
        pages.append(page)
    assert [len(p["records"]) for p in pages] == [1, 1, 1]  # 151 records each: two would pass 200
    assert [r["Id"] for p in pages for r in p["records"]] == ids
    assert all(r["Contacts"]["totalSize"] == 150 for p in pages for r in p["records"])


def test_columns_true_names_the_subquery_as_an_aggregate_column_with_its_fields(sf, accounts):
    answer = sf.restful("query", params={"q": "SELECT Name, (SELECT LastName, Account.Name FROM Contacts), Id FROM Account",
                                         "columns": "true"})  # fmt: skip
    names = [c["columnName"] for c in answer["columnMetadata"]]
    assert names == ["Name", "Contacts", "Id"]
    contacts = answer["columnMetadata"][1]
    assert contacts["aggregate"] is True and contacts["displayName"] == "Contacts"
    assert [c["columnName"] for c in contacts["joinColumns"]] == ["LastName", "Account"]
    assert contacts["joinColumns"][1]["joinColumns"][0]["columnName"] == "Name"


def test_bulk_query_jobs_and_sosl_refuse_subqueries(sf, accounts):
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.restful("jobs/query", method="POST",
                   json={"operation": "query", "query": "SELECT Id, (SELECT Id FROM Contacts) FROM Account"})  # fmt: skip
    (error,) = info.value.content
    assert error["errorCode"] == "INVALIDJOB" and "parent-to-child" in error["message"]
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.search("FIND {Acme} RETURNING Account(Id, (SELECT Id FROM Contacts))")
    assert "parent-to-child subqueries" in info.value.content[0]["message"]
