"""jsforce (Node), the other common Salesforce client, against the sandbox: what its
calls send, the sandbox must answer as Salesforce's REST API does. Each test runs one
script through the jsforce that comes with Salesforce's CLI (salesforce/node_modules)."""
from __future__ import annotations

import json
import subprocess
from datetime import timedelta

import pytest

from tests.conftest import client_credentials_token
from tests.salesforce.toolchain import SALESFORCE, require

pytestmark = pytest.mark.e2e

PRELUDE = r"""
const jsforce = require(process.env.JSFORCE_DIR);
const conn = new jsforce.Connection({instanceUrl: process.env.SF_URL, accessToken: process.env.SF_TOKEN,
                                     version: '62.0'});
const out = {};
async function step(name, call) {  // each call's answer, or the error jsforce raised
  try { out[name] = await call(); }
  catch (e) { out[name] = {error: e.errorCode || e.name, message: String(e.message)}; }
}
"""
POSTLUDE = r"""
main().then(() => console.log(JSON.stringify(out)))
      .catch((err) => { console.error(err.stack || String(err)); process.exit(1); });
"""


@pytest.fixture
def jsforce(sandbox, tmp_path):
    env = require()
    jsforce_dir = SALESFORCE / "node_modules" / "@jsforce" / "jsforce-node"
    if not (jsforce_dir / "package.json").exists():
        pytest.skip(f"jsforce is not installed in {jsforce_dir} (it comes with Salesforce's CLI: cd salesforce && npm ci)")
    env.update(JSFORCE_DIR=str(jsforce_dir), SF_URL=sandbox.connection["instance_url"],
               SF_TOKEN=client_credentials_token(sandbox.connection), NODE_EXTRA_CA_CERTS=sandbox.connection["ca_file"])

    def run(main: str, **values: str) -> dict:
        script = tmp_path / "script.js"
        script.write_text(PRELUDE + main + POSTLUDE)
        done = subprocess.run(["node", str(script)], env={**env, **values}, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1])

    return run


def test_identity_of_a_connection_made_from_an_access_token(jsforce, sandbox):
    """With only an access token, jsforce finds the identity URL in the Resources by
    Version list (its `identity` entry, as Salesforce lists it) and reads it."""
    out = jsforce("""
    async function main() {
      await step('identity', () => conn.identity());
    }
    """)
    assert out["identity"].get("error") is None, out["identity"]
    assert out["identity"]["username"] == sandbox.connection["username"]
    assert out["identity"]["organization_id"] == sandbox.org.organization_id


def test_bulk2_upsert_by_id_inserts_the_rows_without_an_id(jsforce, sandbox):
    """Upsert with Id as the external id field: a row naming an Id updates that record, a
    row whose Id is blank creates one (Salesforce's way to force an insert in an upsert)."""
    known = sandbox.org.create("Lead", {"LastName": "Known", "Company": "Acme"})
    out = jsforce("""
    async function main() {
      conn.bulk2.pollInterval = 100;
      await step('upsert', () => conn.bulk2.loadAndWaitForResults({object: 'Lead', operation: 'upsert',
        externalIdFieldName: 'Id', input: [{Id: process.env.KNOWN, LastName: 'Known', Company: 'Acme Renamed'},
                                           {Id: '', LastName: 'New', Company: 'Newco'}]}));
    }
    """, KNOWN=known)
    result = out["upsert"]
    assert result.get("error") is None, result
    assert result["failedResults"] == []
    created = {r["LastName"]: (r["sf__Id"], r["sf__Created"]) for r in result["successfulResults"]}
    assert created["Known"] == (known, "false")
    new_id, was_created = created["New"]
    assert was_created == "true" and sandbox.org.get("Lead", new_id)["Company"] == "Newco"
    assert sandbox.org.get("Lead", known)["Company"] == "Acme Renamed"


def test_bulk2_query_refuses_offset_as_salesforce_documents(jsforce, sandbox):
    """Bulk API 2.0 query jobs take no GROUP BY, OFFSET or TYPEOF (Salesforce's "Understanding
    Bulk API 2.0 Query"): a client paging a bulk query by OFFSET must learn it here, not in
    production."""
    for i in range(3):
        sandbox.org.create("Lead", {"LastName": f"L{i}", "Company": "Acme"})
    out = jsforce("""
    async function main() {
      conn.bulk2.pollInterval = 100;
      await step('offset', async () => (await conn.bulk2.query('SELECT Id FROM Lead LIMIT 2 OFFSET 1')).toArray());
      await step('plain', async () => (await conn.bulk2.query('SELECT Id FROM Lead LIMIT 2')).toArray());
    }
    """)
    assert out["offset"]["error"] == "INVALIDJOB" and "OFFSET" in out["offset"]["message"]
    assert len(out["plain"]) == 2


def test_query_with_a_child_relationship_subquery(jsforce, sandbox):
    """jsforce's query() and its autoFetch over pages whose child records count toward the
    batch, and the INVALID_TYPE error it raises for a relationship the org does not have."""
    org = sandbox.org
    accounts = [org.create("Account", {"Name": f"A{i}"}) for i in range(3)]
    for account in accounts[:2]:
        for j in range(150):
            org.create("Contact", {"LastName": f"C{j:03d}", "AccountId": account})
    out = jsforce("""
    async function main() {
      const soql = 'SELECT Id, Name, (SELECT LastName FROM Contacts ORDER BY LastName LIMIT 3) FROM Account ORDER BY Name';
      await step('first', () => conn.query(soql));
      await step('all', async () => {
        const records = [];
        await new Promise((resolve, reject) => conn.query('SELECT Id, (SELECT Id FROM Contacts) FROM Account ORDER BY Name')
          .on('record', (r) => records.push(r)).on('end', resolve).on('error', reject)
          .run({autoFetch: true, headers: {'Sforce-Query-Options': 'batchSize=200'}}));
        return records.map((r) => r.Contacts ? r.Contacts.totalSize : null);
      });
      await step('unknown', () => conn.query('SELECT Id, (SELECT Id FROM Contactz) FROM Account'));
    }
    """)
    first = out["first"]
    assert first.get("error") is None, first
    assert [c["LastName"] for c in first["records"][0]["Contacts"]["records"]] == ["C000", "C001", "C002"]
    assert first["records"][0]["Contacts"]["records"][0]["attributes"]["type"] == "Contact"
    assert first["records"][2]["Contacts"] is None
    assert out["all"] == [150, 150, None]
    assert sandbox.counters.snapshot()["endpoints"]["GET query/{locator}"] == 1  # 151 records, then 151 + 1
    assert out["unknown"]["error"] == "INVALID_TYPE"
    assert "Didn't understand relationship 'Contactz' in FROM part of query call" in out["unknown"]["message"]


def test_the_shipped_lead_list_views_read_through_jsforce(jsforce, sandbox):
    """The list views salesforce/ ships (Leads offered to partners, Escalated leads) are what
    an admin's tool lists and runs: jsforce's listviews(), listview(id).describe() and
    .results(), with the view's filter applied and its columns in order, then the hidden
    ones; an unknown view is 404 NOT_FOUND, not a record lookup."""
    org = sandbox.org
    offered = [org.create("Lead", {"LastName": f"Offered {i}", "Company": f"Co {i}", "Country": "DE",
                                   "Routing_Status__c": "Offered", "Routing_Attempt__c": 1}) for i in range(30)]  # fmt: skip
    org.create("Lead", {"LastName": "Escalated", "Company": "Esc", "Routing_Status__c": "Escalated"})
    out = jsforce("""
    async function main() {
      await step('views', () => conn.sobject('Lead').listviews());
      const offered = out.views.listviews.find((v) => v.developerName === 'Leads_Offered_To_Partners');
      await step('describe', () => conn.sobject('Lead').listview(offered.id).describe());
      await step('results', () => conn.sobject('Lead').listview(offered.id).results());
      await step('page2', () => conn.request(offered.resultsUrl + '?limit=10&offset=25'));
      await step('accounts', () => conn.sobject('Account').listviews());
      await step('unknown', () => conn.sobject('Lead').listview('00B5g0000000zzzEAA').results());
    }
    """)
    views = out["views"]
    assert views.get("error") is None, views
    assert {v["developerName"]: v["label"] for v in views["listviews"]} == {
        "Escalated_Leads": "Escalated leads", "Leads_Offered_To_Partners": "Leads offered to partners"}
    assert views["size"] == 2 and views["done"] is True and all(v["id"].startswith("00B") for v in views["listviews"])
    described = out["describe"]
    assert described["sobjectType"] == "Lead" and described["scope"] == "everything"
    assert described["whereCondition"] == {"field": "Routing_Status__c", "operator": "equals", "values": ["Offered"]}
    assert "FROM Lead WHERE Routing_Status__c = 'Offered'" in described["query"]
    results = out["results"]
    assert results.get("error") is None, results
    paths = [c["fieldNameOrPath"] for c in results["columns"]]
    assert paths[:4] == ["Name", "Company", "Country", "Routing_Status__c"] and "Owner.Alias" in paths
    assert [c["fieldNameOrPath"] for c in results["columns"] if c["hidden"]][0] == "Id"
    assert (results["size"], len(results["records"]), results["done"]) == (30, 25, False)  # 25 by default
    first = {c["fieldNameOrPath"]: c["value"] for c in results["records"][0]["columns"]}
    assert first["Name"] == "Offered 0" and first["Routing_Status__c"] == "Offered" and first["Id"] in offered
    assert first["Routing_Attempt__c"] == "1"  # values come as strings
    assert (len(out["page2"]["records"]), out["page2"]["done"]) == (5, True)
    assert out["accounts"]["listviews"] == [] and out["accounts"]["sobjectType"] == "Account"
    assert out["unknown"]["error"] == "NOT_FOUND"


def test_bulk_api_1_is_refused_in_bulk_api_1s_own_error_format(jsforce, sandbox):
    """jsforce's conn.bulk (Bulk API 1.0, /services/async) is not modelled: its calls answer
    Bulk API 1.0's XML error (FeatureNotEnabled) naming Bulk API 2.0 to use instead, which
    jsforce reports as such — not a JSON 404 it cannot read."""
    lead = sandbox.org.create("Lead", {"LastName": "Bulk", "Company": "One"})
    out = jsforce("""
    async function main() {
      await step('load', () => conn.bulk.load('Lead', 'update', [{Id: process.env.LEAD, Rating: 'Hot'}]));
    }
    """, LEAD=lead)
    assert "FeatureNotEnabled" in json.dumps(out["load"]) and "Bulk API 2.0" in out["load"]["message"], out["load"]
    assert sandbox.org.get("Lead", lead)["Rating"] is None
    assert [(e.method, e.path) for e in sandbox.counters.requests("(no such resource)")] == []


def test_recently_viewed_items_are_none_for_an_api_user(jsforce, sandbox):
    """Records read over the API are not "viewed" (only the UI or SOQL FOR VIEW marks them,
    neither of which the sandbox has): jsforce's conn.recent() and sobject().recent() both
    answer an empty list, as an org answers an API-only user — not a 404."""
    sandbox.org.create("Lead", {"LastName": "Seen", "Company": "Never"})
    out = jsforce("""
    async function main() {
      await step('all', () => conn.recent());
      await step('limited', () => conn.recent(5));
      await step('lead', () => conn.sobject('Lead').recent());
    }
    """)
    assert out == {"all": [], "limited": [], "lead": []}


def test_upsert_by_an_external_id_field_creates_then_updates(jsforce, sandbox):
    """jsforce's upsert(record, 'Key__c') is a PATCH of sobjects/X/Key__c/value (201 and
    created: true for a new record, 200 and created: false for a known one, API 46.0+);
    upsert([...], 'Key__c') is the sObject Collections upsert (composite/sobjects/X/Key__c:
    UpsertResults in order); a Bulk API 2.0 upsert job names the field in
    externalIdFieldName. Salesforce's "Upsert Records Using sObject Rows by External ID" and
    "… Using sObject Collections"; the sandbox answered 404 NOT_FOUND to each."""
    out = jsforce("""
    async function main() {
      const lease = conn.sobject('LeadRouter_Lease__c');
      await step('created', () => lease.upsert({Key__c: 'org:1', Name: 'one', Term__c: 1}, 'Key__c'));
      await step('updated', () => lease.upsert({Key__c: 'org:1', Name: 'one', Term__c: 2}, 'Key__c'));
      await step('many', () => lease.upsert([{Key__c: 'org:1', Name: 'one', Term__c: 3},
                                             {Key__c: 'org:2', Name: 'two', Term__c: 1},
                                             {Key__c: 'org:3', Name: 'three'}], 'Key__c'));
      conn.bulk2.pollInterval = 100;
      await step('bulk', () => conn.bulk2.loadAndWaitForResults({object: 'LeadRouter_Lease__c', operation: 'upsert',
        externalIdFieldName: 'Key__c', input: [{Key__c: 'org:2', Name: 'two', Term__c: 5},
                                               {Key__c: 'org:4', Name: 'four', Term__c: 1}]}));
      await step('rows', () => conn.query("SELECT Key__c, Term__c FROM LeadRouter_Lease__c ORDER BY Key__c"));
    }
    """)
    created, updated = out["created"], out["updated"]
    assert created.get("error") is None, created
    assert (created["success"], created["created"], created["errors"]) == (True, True, [])
    assert (updated["id"], updated["success"], updated["created"]) == (created["id"], True, False)
    many = out["many"]
    assert [(r.get("id"), r["success"], r.get("created")) for r in many[:2]] == [(created["id"], True, False), (many[1]["id"], True, True)]  # fmt: skip
    assert many[2]["success"] is False and many[2]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING", many[2]
    bulk = out["bulk"]
    assert bulk.get("error") is None, bulk
    assert bulk["failedResults"] == []
    assert {r["Key__c"]: r["sf__Created"] for r in bulk["successfulResults"]} == {"org:2": "false", "org:4": "true"}
    assert [(r["Key__c"], r["Term__c"]) for r in out["rows"]["records"]] == [("org:1", 3), ("org:2", 5), ("org:4", 1)]


def test_describe_names_the_master_record_type_of_objects_that_take_record_types(jsforce):
    """An org without record types still describes the master one on every object that can
    have them (Lead, Account, Task, a custom object…): recordTypeId 012000000000000AAA,
    master, default mapping. A client choosing the record type of a new record
    (recordTypeInfos.find(r => r.defaultRecordTypeMapping)) found none in the sandbox."""
    out = jsforce("""
    async function main() {
      for (const name of ['Lead', 'Account', 'LeadRouter_Lease__c', 'User', 'LeadHistory']) {
        await step(name, async () => (await conn.sobject(name).describe()).recordTypeInfos);
      }
    }
    """)
    for name in ("Lead", "Account", "LeadRouter_Lease__c"):
        infos = out[name]
        assert isinstance(infos, list) and len(infos) == 1, (name, infos)
        master = infos[0]
        assert {k: master[k] for k in ("active", "available", "defaultRecordTypeMapping", "developerName", "master",
                                       "name", "recordTypeId")} == {
            "active": True, "available": True, "defaultRecordTypeMapping": True, "developerName": "Master",
            "master": True, "name": "Master", "recordTypeId": "012000000000000AAA"}, name
    assert out["User"] == [] and out["LeadHistory"] == []


def test_limits_count_the_days_bulk_jobs(jsforce, sandbox):
    """The limits resource counts Bulk API 2.0 use as Salesforce does: a query job against
    DailyBulkV2QueryJobs, an ingest job's records in batches of 10,000 against
    DailyBulkApiBatches, over the last 24 hours; a client watching its bulk allowance saw
    both stay full whatever it ran."""
    sandbox.org.create("Lead", {"LastName": "One", "Company": "Acme"})
    out = jsforce("""
    async function main() {
      await step('before', () => conn.limits());
      conn.bulk2.pollInterval = 100;
      await step('query', async () => (await conn.bulk2.query('SELECT Id FROM Lead')).toArray());
      await step('load', () => conn.bulk2.loadAndWaitForResults({object: 'Lead', operation: 'insert',
        input: [{LastName: 'A', Company: 'A'}, {LastName: 'B', Company: 'B'}]}));
      await step('after', () => conn.limits());
    }
    """)
    before, after = out["before"], out["after"]
    assert before.get("error") is None and len(out["query"]) == 1, out
    assert after["DailyBulkV2QueryJobs"]["Remaining"] == before["DailyBulkV2QueryJobs"]["Remaining"] - 1
    assert after["DailyBulkApiBatches"]["Remaining"] == before["DailyBulkApiBatches"]["Remaining"] - 1
    sandbox.clock.advance(timedelta(hours=24, minutes=1))
    again = jsforce("""
    async function main() { await step('limits', () => conn.limits()); }
    """, SF_TOKEN=client_credentials_token(sandbox.connection))["limits"]  # the first session expired meanwhile
    assert again["DailyBulkV2QueryJobs"] == before["DailyBulkV2QueryJobs"]
    assert again["DailyBulkApiBatches"] == before["DailyBulkApiBatches"]


def test_fiscal_date_literals_and_functions_follow_the_orgs_fiscal_year(jsforce, sandbox):
    """An org whose fiscal year starts in April (Setup → Fiscal Year; Organization.
    FiscalYearStartMonth = 4, named by the year it ends in, Salesforce's default): in May
    2026 THIS_FISCAL_QUARTER is April–June, THIS_FISCAL_YEAR April 2026–March 2027 (FY
    2027), LAST_FISCAL_YEAR ends with March 2026; FISCAL_YEAR() and FISCAL_QUARTER() say
    so. The sandbox took every fiscal year for the calendar year."""
    from datetime import datetime, timezone

    org = sandbox.org
    org.update("Organization", org.organization_id, {"FiscalYearStartMonth": 4}, system=True)
    sandbox.clock.set(datetime(2026, 5, 15, 12, 0, tzinfo=timezone.utc))
    for name, when in (("April", datetime(2026, 4, 10, 9, 0, tzinfo=timezone.utc)),
                       ("March", datetime(2026, 3, 20, 9, 0, tzinfo=timezone.utc)),
                       ("January", datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc))):
        org.create("Lead", {"LastName": name, "Company": "Acme", "CreatedDate": when}, system=True)
    out = jsforce("""
    async function main() {
      const names = async (where) => (await conn.query('SELECT LastName FROM Lead WHERE ' + where + ' ORDER BY CreatedDate'))
        .records.map((r) => r.LastName);
      await step('quarter', () => names('CreatedDate = THIS_FISCAL_QUARTER'));
      await step('lastQuarter', () => names('CreatedDate = LAST_FISCAL_QUARTER'));
      await step('year', () => names('CreatedDate = THIS_FISCAL_YEAR'));
      await step('lastYear', () => names('CreatedDate = LAST_FISCAL_YEAR'));
      await step('calendar', () => names('CreatedDate = THIS_QUARTER'));
      await step('grouped', async () => (await conn.query('SELECT FISCAL_YEAR(CreatedDate) y, FISCAL_QUARTER(CreatedDate) q, '
        + 'FISCAL_MONTH(CreatedDate) m, COUNT(Id) n FROM Lead GROUP BY FISCAL_YEAR(CreatedDate), FISCAL_QUARTER(CreatedDate), '
        + 'FISCAL_MONTH(CreatedDate) ORDER BY FISCAL_YEAR(CreatedDate), FISCAL_QUARTER(CreatedDate)')).records
        .map((r) => [r.y, r.q, r.m, r.n]));
    }
    """)
    assert out["quarter"] == ["April"], out
    assert out["lastQuarter"] == ["January", "March"], out
    assert out["year"] == ["April"], out
    assert out["lastYear"] == ["January", "March"], out
    assert out["calendar"] == ["April"], out
    assert sorted(out["grouped"]) == [[2026, 4, 10, 1], [2026, 4, 12, 1], [2027, 1, 1, 1]], out  # Jan, Mar: Q4 of FY 2026


def test_semi_join_and_anti_join_subqueries_in_where(jsforce, sandbox):
    """WHERE Id IN (SELECT …) and NOT IN (SELECT …): Salesforce's semi-join and anti-join
    (the inner query selects one Id or lookup field); the sandbox refused them as
    MALFORMED_QUERY. A lookup on the left works too, and the inner query's own WHERE holds."""
    org = sandbox.org
    acme, globex, initech = (org.create("Account", {"Name": n}) for n in ("Acme", "Globex", "Initech"))
    org.create("Contact", {"LastName": "Road Runner", "AccountId": acme})
    org.create("Contact", {"LastName": "Hank", "AccountId": globex, "Email": "hank@globex.test"})
    org.create("Opportunity", {"Name": "Anvils", "StageName": "Prospecting", "CloseDate": "2027-01-01", "AccountId": acme})
    out = jsforce("""
    async function main() {
      const names = async (soql) => (await conn.query(soql)).records.map((r) => r.Name || r.LastName).sort();
      await step('semi', () => names('SELECT Name FROM Account WHERE Id IN (SELECT AccountId FROM Contact)'));
      await step('anti', () => names('SELECT Name FROM Account WHERE Id NOT IN (SELECT AccountId FROM Contact)'));
      await step('filtered', () => names("SELECT Name FROM Account WHERE Id IN (SELECT AccountId FROM Contact WHERE Email != null)"));
      await step('lookup', () => names('SELECT LastName FROM Contact WHERE AccountId IN (SELECT AccountId FROM Opportunity)'));
      await step('both', () => names('SELECT Name FROM Account WHERE Id IN (SELECT AccountId FROM Contact) AND Id NOT IN (SELECT AccountId FROM Opportunity)'));
      await step('twoFields', () => conn.query('SELECT Name FROM Account WHERE Id IN (SELECT Id, AccountId FROM Contact)'));
      await step('notId', () => conn.query('SELECT Name FROM Account WHERE Name IN (SELECT LastName FROM Contact)'));
      await step('or', () => conn.query("SELECT Name FROM Account WHERE Name = 'Acme' OR Id IN (SELECT AccountId FROM Contact)"));
    }
    """)
    assert out["semi"] == ["Acme", "Globex"], out
    assert out["anti"] == ["Initech"], out
    assert out["filtered"] == ["Globex"], out
    assert out["lookup"] == ["Road Runner"], out
    assert out["both"] == ["Globex"], out
    assert out["twoFields"]["error"] == "MALFORMED_QUERY", out["twoFields"]
    assert out["notId"]["error"] == "MALFORMED_QUERY", out["notId"]
    assert out["or"]["error"] == "MALFORMED_QUERY" and "'OR' operator" in out["or"]["message"], out["or"]
