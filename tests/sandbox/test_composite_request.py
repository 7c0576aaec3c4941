"""/composite, /composite/batch, /composite/tree and POST retrieve of sObject Collections,
over HTTPS as independent clients call them (simple-salesforce's `restful`, raw requests)."""
from __future__ import annotations

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from tests.sandbox.raw import Raw

V = "/services/data/v62.0"
NO_ASSIGN = {"Sforce-Auto-Assign": "FALSE"}


def sub(ref: str, method: str, path: str, body: dict | None = None, **extra) -> dict:
    item = {"method": method, "url": f"{V}/{path}", "referenceId": ref, **extra}
    if body is not None:
        item["body"] = body
    return item


def composite(sf, subrequests: list[dict], *, all_or_none: bool = False, headers: dict | None = None) -> dict:
    body = {"allOrNone": all_or_none, "compositeRequest": subrequests}
    return sf.restful("composite", method="POST", json=body, headers=headers or {})


def by_ref(response: dict) -> dict[str, dict]:
    return {r["referenceId"]: r for r in response["compositeResponse"]}


def leads_named(org, last_name: str) -> list[dict]:
    return [r for r in org.records("Lead") if r["LastName"] == last_name and not r["IsDeleted"]]


@pytest.fixture
def raw(sandbox):
    client = Raw(sandbox)
    yield client
    client.close()


# ---- /composite -------------------------------------------------------------------------
def test_references_chain_create_read_and_query_in_one_api_call(sandbox, sf):
    used = sandbox.limit.used
    answer = composite(sf, [
        sub("acct", "POST", "sobjects/Account", {"Name": "Chained Co"}),
        sub("contact", "POST", "sobjects/Contact", {"LastName": "Chain", "AccountId": "@{acct.id}"}),
        sub("readBack", "GET", "sobjects/Contact/@{contact.id}?fields=AccountId,LastName"),
        sub("found", "GET", "query?q=SELECT+Id,Name+FROM+Account+WHERE+Id='@{acct.id}'"),
        sub("renamed", "PATCH", "sobjects/Account/@{found.records[0].Id}", {"Name": "@{readBack.LastName} Holdings"}),
    ])
    results = by_ref(answer)
    assert [r["referenceId"] for r in answer["compositeResponse"]] == ["acct", "contact", "readBack", "found", "renamed"]
    acct_id = results["acct"]["body"]["id"]
    assert results["acct"]["httpStatusCode"] == 201 and results["acct"]["body"]["success"] is True
    assert results["acct"]["httpHeaders"]["Location"] == f"{V}/sobjects/Account/{acct_id}"
    assert results["readBack"]["body"]["AccountId"] == acct_id
    assert results["found"]["body"]["totalSize"] == 1
    assert results["renamed"] == {"body": None, "httpHeaders": {}, "httpStatusCode": 204, "referenceId": "renamed"}
    assert sandbox.org.get("Account", acct_id)["Name"] == "Chain Holdings"
    contact = sandbox.org.get("Contact", results["contact"]["body"]["id"])
    assert contact["AccountId"] == acct_id
    assert sandbox.limit.used - used == 1  # the whole composite request is one API call
    assert sandbox.counters.count("POST composite") == 1


def test_all_or_none_rolls_back_every_write_when_one_fails(sandbox, sf):
    answer = composite(sf, [
        sub("first", "POST", "sobjects/Lead", {"LastName": "Rollback", "Company": "Acme"}),
        sub("bad", "POST", "sobjects/Lead", {"LastName": "Rollback"}),  # Company is required
        sub("after", "POST", "sobjects/Lead", {"LastName": "Rollback", "Company": "Later"}),
    ], all_or_none=True, headers=NO_ASSIGN)
    results = by_ref(answer)
    assert results["bad"]["httpStatusCode"] == 400
    assert results["bad"]["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    for ref in ("first", "after"):
        assert results[ref]["httpStatusCode"] == 400
        assert results[ref]["body"] == [{"errorCode": "PROCESSING_HALTED", "message": (
            "The transaction was rolled back since another operation in the same transaction failed.")}]
    assert leads_named(sandbox.org, "Rollback") == []  # the first lead is not in the org


def test_without_all_or_none_only_dependents_of_a_failure_are_halted(sandbox, sf):
    answer = composite(sf, [
        sub("kept", "POST", "sobjects/Lead", {"LastName": "Partial", "Company": "Acme"}),
        sub("bad", "POST", "sobjects/Lead", {"LastName": "Partial", "Email": "not-an-email", "Company": "X"}),
        sub("dependent", "PATCH", "sobjects/Lead/@{bad.id}", {"Rating": "Hot"}),
        sub("emptyQuery", "GET", "query?q=SELECT+Id+FROM+Lead+WHERE+LastName='Nobody'"),
        sub("needsRow", "PATCH", "sobjects/Lead/@{emptyQuery.records[0].Id}", {"Rating": "Hot"}),
        sub("independent", "PATCH", "sobjects/Lead/@{kept.id}", {"Rating": "Warm"}),
    ], headers=NO_ASSIGN)
    results = by_ref(answer)
    assert results["bad"]["body"][0]["errorCode"] == "INVALID_EMAIL_ADDRESS"
    assert results["dependent"]["httpStatusCode"] == 400
    assert results["dependent"]["body"] == [{"errorCode": "PROCESSING_HALTED",
                                             "message": "Invalid reference specified. No value for bad.id found in bad."}]
    assert results["needsRow"]["body"][0]["message"].startswith(
        "Invalid reference specified. No value for emptyQuery.records[0].Id found in emptyQuery")
    assert results["independent"]["httpStatusCode"] == 204
    [kept] = leads_named(sandbox.org, "Partial")
    assert kept["Id"] == results["kept"]["body"]["id"] and kept["Rating"] == "Warm"


def test_all_or_none_covers_a_collection_subrequest_that_failed_one_record(sandbox, sf):
    answer = composite(sf, [
        sub("lead", "POST", "sobjects/Lead", {"LastName": "Outer", "Company": "Acme"}),
        sub("many", "POST", "composite/sobjects", {"allOrNone": False, "records": [
            {"attributes": {"type": "Lead"}, "LastName": "Outer", "Company": "Fine"},
            {"attributes": {"type": "Lead"}, "LastName": "Outer"},
        ]}),
    ], all_or_none=True, headers=NO_ASSIGN)
    results = by_ref(answer)
    assert results["lead"]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert [r["success"] for r in results["many"]["body"]] == [False, False]
    assert leads_named(sandbox.org, "Outer") == []


def test_the_parents_auto_assign_header_reaches_each_subrequest(sandbox, sf):
    queue = sandbox.org.queue_ids["Channel_Escalations"]
    lead = {"LastName": "Owned", "Company": "Acme", "OwnerId": queue}
    kept = by_ref(composite(sf, [sub("a", "POST", "sobjects/Lead", lead)], headers=NO_ASSIGN))["a"]
    ruled = by_ref(composite(sf, [sub("b", "POST", "sobjects/Lead", lead)]))["b"]
    own = by_ref(composite(sf, [sub("c", "POST", "sobjects/Lead", lead, httpHeaders=NO_ASSIGN)]))["c"]
    assert sandbox.org.get("Lead", kept["body"]["id"])["OwnerId"] == queue
    assert sandbox.org.get("Lead", ruled["body"]["id"])["OwnerId"] == sandbox.org.queue_ids["Inside_Sales"]
    assert sandbox.org.get("Lead", own["body"]["id"])["OwnerId"] == queue


def test_a_fault_planned_for_a_subrequest_endpoint_fails_that_subrequest_only(sandbox, sf):
    lead_id = sandbox.org.create("Lead", {"LastName": "Locked", "Company": "Acme"})
    sandbox.faults.plan("lock", endpoint="PATCH sobjects/{type}/{id}")
    answer = composite(sf, [
        sub("read", "GET", f"sobjects/Lead/{lead_id}?fields=LastName"),
        sub("write", "PATCH", f"sobjects/Lead/{lead_id}", {"Rating": "Hot"}),
    ])
    results = by_ref(answer)
    assert results["read"]["httpStatusCode"] == 200
    assert results["write"]["httpStatusCode"] == 400
    assert results["write"]["body"][0]["errorCode"] == "UNABLE_TO_LOCK_ROW"
    assert sandbox.org.get("Lead", lead_id)["Rating"] is None


def test_all_or_none_covers_a_collection_delete_whatever_its_own_flag(sandbox, sf):
    keep, also = (sandbox.org.create("Lead", {"LastName": "Deleted?", "Company": "Acme"}) for _ in range(2))
    answer = composite(sf, [
        sub("gone", "DELETE", f"composite/sobjects?allOrNone=false&ids={keep},00Qbanana"),
        sub("other", "DELETE", f"sobjects/Lead/{also}"),
    ], all_or_none=True)
    results = by_ref(answer)
    assert results["gone"]["httpStatusCode"] == 200
    assert results["gone"]["body"][0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert results["other"]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert not sandbox.org.get("Lead", keep)["IsDeleted"] and not sandbox.org.get("Lead", also)["IsDeleted"]


@pytest.mark.parametrize("subrequests, code", [
    ([sub(f"r{i}", "GET", "limits") for i in range(1)], "JSON_PARSER_ERROR"),  # /limits is not a composite resource
    ([sub(f"r{i}", "POST", "sobjects/Lead", {"LastName": "Never", "Company": "A"}) for i in range(26)], "LIMIT_EXCEEDED"),  # noqa: E501
    ([sub(f"q{i}", "GET", "query?q=SELECT+Id+FROM+Lead") for i in range(6)], "LIMIT_EXCEEDED"),
    ([{"method": "POST", "url": f"{V}/sobjects/Lead", "body": {"LastName": "Never", "Company": "A"}}], "JSON_PARSER_ERROR"),  # noqa: E501
    ([sub("a", "POST", "sobjects/Lead", {"LastName": "Never", "Company": "A"}), sub("a", "GET", "limits")], "JSON_PARSER_ERROR"),  # noqa: E501
    ([{"method": "POST", "url": "sobjects/Lead", "referenceId": "a", "body": {"LastName": "Never", "Company": "A"}}], "JSON_PARSER_ERROR"),  # noqa: E501
], ids=["unsupported-resource", "26-subrequests", "6-queries", "no-referenceId", "duplicate-referenceId", "relative-url"])
def test_a_malformed_composite_request_is_refused_whole(sandbox, sf, subrequests, code):
    used = sandbox.limit.used
    with pytest.raises(SalesforceMalformedRequest) as info:
        composite(sf, subrequests)
    assert info.value.content[0]["errorCode"] == code
    assert leads_named(sandbox.org, "Never") == []
    assert sandbox.limit.used - used == 1


def test_get_composite_lists_the_composite_resources(raw):
    r = raw.get("composite")
    assert r.status_code == 200
    assert r.json()["batch"] == f"{V}/composite/batch" and r.json()["tree"] == f"{V}/composite/tree"


# ---- /composite/batch ----------------------------------------------------------------------
def test_batch_runs_independent_subrequests_and_halts_on_error_when_asked(sandbox, sf):
    lead_id = sandbox.org.create("Lead", {"LastName": "Batched", "Company": "Acme"})
    used = sandbox.limit.used
    answer = sf.restful("composite/batch", method="POST", headers=NO_ASSIGN, json={"haltOnError": True, "batchRequests": [
        {"method": "PATCH", "url": f"v62.0/sobjects/Lead/{lead_id}", "richInput": {"Rating": "Hot"}},
        {"method": "GET", "url": f"v62.0/sobjects/Lead/{lead_id}?fields=Rating"},
        {"method": "PATCH", "url": f"v62.0/sobjects/Lead/{lead_id}", "richInput": {"Email": "not-an-email"}},
        {"method": "PATCH", "url": f"v62.0/sobjects/Lead/{lead_id}", "richInput": {"Rating": "Cold"}},
    ]})  # fmt: skip
    statuses = [r["statusCode"] for r in answer["results"]]
    assert answer["hasErrors"] is True and statuses == [204, 200, 400, 412]
    assert answer["results"][0]["result"] is None
    assert answer["results"][1]["result"]["Rating"] == "Hot"
    assert answer["results"][2]["result"][0]["errorCode"] == "INVALID_EMAIL_ADDRESS"
    assert answer["results"][3]["result"][0]["errorCode"] == "BATCH_PROCESSING_HALTED"
    assert sandbox.org.get("Lead", lead_id)["Rating"] == "Hot"  # the first write stays; the last never ran
    assert sandbox.limit.used - used == 3  # each subrequest that ran counts


def test_batch_without_halt_on_error_runs_every_subrequest(sandbox, sf):
    lead_id = sandbox.org.create("Lead", {"LastName": "Batched", "Company": "Acme"})
    answer = sf.restful("composite/batch", method="POST", headers=NO_ASSIGN, json={"batchRequests": [
        {"method": "PATCH", "url": f"v62.0/sobjects/Lead/{lead_id}", "richInput": {"Email": "not-an-email"}},
        {"method": "PATCH", "url": f"v62.0/sobjects/Lead/{lead_id}", "richInput": {"Rating": "Cold"}},
        {"method": "GET", "url": f"{V}/query?q=SELECT+Rating+FROM+Lead"},
        {"method": "GET", "url": "v62.0/search?q=FIND+{Batched}+IN+NAME+FIELDS+RETURNING+Lead(Id)"},
    ]})  # fmt: skip
    assert [r["statusCode"] for r in answer["results"]] == [400, 204, 200, 200]
    assert answer["results"][2]["result"]["records"][0]["Rating"] == "Cold"
    assert [r["Id"] for r in answer["results"][3]["result"]["searchRecords"]] == [lead_id]


# ---- /composite/tree ----------------------------------------------------------------------------
def tree_account(ref: str, name: str, contacts: list[tuple[str, dict]]) -> dict:
    return {"attributes": {"type": "Account", "referenceId": ref}, "name": name, "Contacts": {"records": [
        {"attributes": {"type": "Contact", "referenceId": r}, **fields} for r, fields in contacts
    ]}}  # fmt: skip


def test_tree_creates_parents_then_children_with_their_lookups(sandbox, raw):
    r = raw.post("composite/tree/Account", json={"records": [
        tree_account("ref1", "Tree One", [("ref2", {"LastName": "Smith"}), ("ref3", {"lastname": "Evans"})]),
        tree_account("ref4", "Tree Two", []) | {"Contacts": {"records": [
            {"attributes": {"type": "Contact", "referenceId": "ref5"}, "LastName": "Jones"}]}},
    ]})  # fmt: skip
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["hasErrors"] is False
    assert [x["referenceId"] for x in body["results"]] == ["ref1", "ref4", "ref2", "ref3", "ref5"]
    ids = {x["referenceId"]: x["id"] for x in body["results"]}
    assert sandbox.org.get("Account", ids["ref1"])["Name"] == "Tree One"
    assert sandbox.org.get("Contact", ids["ref3"])["AccountId"] == ids["ref1"]
    assert sandbox.org.get("Contact", ids["ref5"])["AccountId"] == ids["ref4"]


def test_tree_is_all_or_nothing(sandbox, raw):
    r = raw.post("composite/tree/Account", json={"records": [
        tree_account("good", "Doomed Co", [("alsoGood", {"LastName": "Fine"}), ("broken", {"LastName": "Broken", "Email": "nope"})]),
    ]})  # fmt: skip
    assert r.status_code == 400
    assert r.json() == {"hasErrors": True, "results": [{"referenceId": "broken", "errors": [
        {"statusCode": "INVALID_EMAIL_ADDRESS", "message": "Email: invalid email address: nope", "fields": ["Email"]}]}]}
    assert [a for a in sandbox.org.records("Account") if a["Name"] == "Doomed Co"] == []
    assert [c for c in sandbox.org.records("Contact") if c["LastName"] == "Fine"] == []


def test_tree_refuses_more_than_two_hundred_records(sandbox, raw):
    records = [{"attributes": {"type": "Account", "referenceId": f"a{i}"}, "Name": f"Big {i}"} for i in range(201)]
    r = raw.post("composite/tree/Account", json={"records": records})
    assert r.status_code == 400 and r.json()[0]["errorCode"] == "LIMIT_EXCEEDED"
    assert not [a for a in sandbox.org.records("Account") if a["Name"].startswith("Big ")]


def test_tree_record_fault_fails_the_whole_tree(sandbox, raw):
    sandbox.faults.plan("record_failures", endpoint="composite/tree", records=[1], code="UNABLE_TO_LOCK_ROW")
    r = raw.post("composite/tree/Account", json={"records": [
        tree_account("root", "Faulted Co", [("child", {"LastName": "Locked"})])]})  # fmt: skip
    assert r.status_code == 400
    assert r.json()["results"][0]["referenceId"] == "child"
    assert r.json()["results"][0]["errors"][0]["statusCode"] == "UNABLE_TO_LOCK_ROW"
    assert [a for a in sandbox.org.records("Account") if a["Name"] == "Faulted Co"] == []


# ---- sObject Collections retrieve by POST ---------------------------------------------------------
def test_collections_retrieve_accepts_post_with_ids_and_fields_in_the_body(sandbox, sf):
    first = sandbox.org.create("Lead", {"LastName": "One", "Company": "Acme"})
    second = sandbox.org.create("Lead", {"LastName": "Two", "Company": "Acme"})
    gone = sandbox.org.create("Lead", {"LastName": "Gone", "Company": "Acme"})
    sandbox.org.delete("Lead", gone)
    answer = sf.restful("composite/sobjects/Lead", method="POST",
                        json={"ids": [second, first, gone], "fields": ["Id", "LastName"]})  # fmt: skip
    assert [r and r["LastName"] for r in answer] == ["Two", "One", None]
    assert answer[0]["attributes"] == {"type": "Lead", "url": f"{V}/sobjects/Lead/{second}"}
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.restful("composite/sobjects/Lead", method="POST", json={"ids": [first], "fields": ["Nope__c"]})
    assert info.value.content[0]["errorCode"] == "INVALID_FIELD"


# ---- an independent client: jsforce (Node) ------------------------------------------------------
JSFORCE_SCRIPT = r"""
const jsforce = require(process.env.JSFORCE_DIR);
(async () => {
  const conn = new jsforce.Connection({instanceUrl: process.env.SF_URL, accessToken: process.env.SF_TOKEN, version: '62.0'});
  const composite = await conn.requestPost('/composite', {allOrNone: false, compositeRequest: [
    {method: 'POST', url: '/services/data/v62.0/sobjects/Lead', referenceId: 'newLead',
     body: {LastName: 'Node', Company: 'jsforce'}},
    {method: 'GET', url: '/services/data/v62.0/sobjects/Lead/@{newLead.id}?fields=Company', referenceId: 'readLead'},
  ]});
  const ids = process.env.LEAD_IDS.split(',');
  const records = await conn.sobject('Lead').retrieve(ids);
  const some = await conn.sobject('Lead').retrieve(ids, {fields: ['LastName']});
  console.log(JSON.stringify({composite, records, some}));
})().catch((err) => { console.error(err.stack || String(err)); process.exit(1); });
"""


def test_jsforce_composite_and_retrieve_many(sandbox, tmp_path):
    import json
    import subprocess

    from tests.conftest import client_credentials_token
    from tests.salesforce.toolchain import SALESFORCE, require

    env = require()
    jsforce_dir = SALESFORCE / "node_modules" / "@jsforce" / "jsforce-node"
    if not (jsforce_dir / "package.json").exists():
        pytest.skip(f"jsforce is not installed in {jsforce_dir} (it comes with Salesforce's CLI: cd salesforce && npm ci)")
    lead_ids = [sandbox.org.create("Lead", {"LastName": f"Many {i}", "Company": "Acme"}) for i in range(2)]
    script = tmp_path / "composite.js"
    script.write_text(JSFORCE_SCRIPT)
    env.update(JSFORCE_DIR=str(jsforce_dir), SF_URL=sandbox.connection["instance_url"], LEAD_IDS=",".join(lead_ids),
               SF_TOKEN=client_credentials_token(sandbox.connection), NODE_EXTRA_CA_CERTS=sandbox.connection["ca_file"])
    done = subprocess.run(["node", str(script)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    created, read = out["composite"]["compositeResponse"]
    assert created["httpStatusCode"] == 201 and read["httpStatusCode"] == 200
    assert read["body"]["Company"] == "jsforce"
    assert read["body"]["attributes"]["url"].endswith("/" + created["body"]["id"])
    assert sandbox.org.get("Lead", created["body"]["id"])["LastName"] == "Node"
    assert [r["Id"] for r in out["records"]] == lead_ids
    assert [r["LastName"] for r in out["records"]] == ["Many 0", "Many 1"]
    assert out["records"][0]["Company"] == "Acme"  # no fields named: jsforce asks for every described field
    assert [sorted(r) for r in out["some"]] == [["LastName", "attributes"]] * 2
    assert sandbox.counters.count("POST composite/sobjects/{type}") == 2
