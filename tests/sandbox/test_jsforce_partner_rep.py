"""A partner rep working their offers with jsforce (Node), logged in the way the org lets a
partner user log in through the API (OAuth username-password flow of the connected app):
what the rep's describe says they may do must be what the org then lets them do, as a
tool (or a portal page) built on describe decides which fields to offer for editing."""
from __future__ import annotations

import json
from datetime import timedelta
import subprocess

import pytest

from tests.salesforce.toolchain import SALESFORCE, require

pytestmark = pytest.mark.e2e

PRELUDE = r"""
const jsforce = require(process.env.JSFORCE_DIR);
const conn = new jsforce.Connection({version: '62.0', oauth2: {loginUrl: process.env.SF_LOGIN_URL,
  clientId: process.env.SF_CLIENT_ID, clientSecret: process.env.SF_CLIENT_SECRET}});
const out = {};
async function step(name, call) {  // each call's answer, or the error jsforce raised
  try { out[name] = await call(); }
  catch (e) { out[name] = {error: e.errorCode || e.name, message: String(e.message)}; }
}
"""
POSTLUDE = r"""
conn.login(process.env.SF_USERNAME, process.env.SF_PASSWORD).then(main)
    .then(() => console.log(JSON.stringify(out)))
    .catch((err) => { console.error(err.stack || String(err)); process.exit(1); });
"""


@pytest.fixture
def org(sandbox):
    """One partner with one rep, a lead offered to the rep and one offered to another partner."""
    o = sandbox.org
    ids = {}
    for p in ("A", "B"):
        account = o.create("Account", {"Name": f"Partner {p}", "IsPartner": True})
        contact = o.create("Contact", {"AccountId": account, "LastName": f"Rep {p}"})
        ids[p] = o.create("User", {"Username": f"rep.{p.lower()}@partner.sandbox", "LastName": f"Rep {p}",
                                   "Email": f"rep.{p.lower()}@partner.test", "UserType": "PowerPartner",
                                   "AccountId": account, "ContactId": contact})  # fmt: skip
        ids[f"lead_{p}"] = o.create("Lead", {"LastName": "Lead", "Company": f"Offered to {p}", "OwnerId": ids[p],
                                             "PartnerAccountId": account, "Routing_Status__c": "Offered"})  # fmt: skip
    sandbox.ids = ids
    return sandbox


@pytest.fixture
def as_rep(org, tmp_path):
    env = require()
    jsforce_dir = SALESFORCE / "node_modules" / "@jsforce" / "jsforce-node"
    if not (jsforce_dir / "package.json").exists():
        pytest.skip(f"jsforce is not installed in {jsforce_dir} (it comes with Salesforce's CLI: cd salesforce && npm ci)")
    c = org.connection
    env.update(JSFORCE_DIR=str(jsforce_dir), SF_LOGIN_URL=c["login_url"], SF_CLIENT_ID=c["client_id"],
               SF_CLIENT_SECRET=c["client_secret"], SF_USERNAME="rep.a@partner.sandbox", SF_PASSWORD=c["password"],
               NODE_EXTRA_CA_CERTS=c["ca_file"])  # fmt: skip

    def run(main: str, **values: str) -> dict:
        script = tmp_path / "rep.js"
        script.write_text(PRELUDE + main + POSTLUDE)
        done = subprocess.run(["node", str(script)], env={**env, **values}, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1])

    return run


def test_the_reps_describe_says_which_lead_fields_it_may_edit(as_rep, org):
    """Describe answers for the caller: a field the rep's permission set leaves read-only is
    neither createable nor updateable, a field it does not grant is not there at all, and
    Lead is neither createable nor deletable for a rep — each as the org then enforces it."""
    out = as_rep("""
    async function main() {
      await step('describe', async () => {
        const d = await conn.sobject('Lead').describe();
        return {createable: d.createable, deletable: d.deletable, updateable: d.updateable,
                fields: Object.fromEntries(d.fields.map((f) => [f.name, [f.createable, f.updateable]]))};
      });
      await step('global', async () => (await conn.describeGlobal()).sobjects.filter((s) => s.name === 'Lead')
        .map((s) => [s.createable, s.deletable, s.updateable])[0]);
      await step('create', () => conn.sobject('Lead').create({LastName: 'Mine', Company: 'Self-made'}));
      await step('status', () => conn.sobject('Lead').update({Id: process.env.LEAD, Routing_Status__c: 'Accepted'}));
    }
    """, LEAD=org.ids["lead_A"])
    described = out["describe"]
    fields = described["fields"]
    assert fields["Partner_Response__c"][1] is True and fields["Rejection_Reason_Code__c"][1] is True
    assert fields["Routing_Status__c"] == [False, False]
    assert fields["Offer_Deadline__c"] == [False, False]
    assert fields["PartnerAccountId"] == [False, False]
    assert "Routing_Attempt__c" not in fields and "Routing_Rule__c" not in fields  # not granted: invisible
    assert fields["Company"][1] is True
    assert (described["createable"], described["deletable"], described["updateable"]) == (False, False, True)
    assert out["global"] == [False, False, True]
    assert out["create"]["error"] == "INSUFFICIENT_ACCESS_OR_READONLY", out["create"]
    assert out["status"]["error"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert org.org.get("Lead", org.ids["lead_A"])["Routing_Status__c"] == "Offered"


def test_the_rep_works_its_offers_and_a_list_view_shows_only_its_own(as_rep, org):
    """The rep's round: its offered leads (the shipped list view runs with the rep's sharing,
    so only the rep's lead is in it), accept one, a reason code outside the restricted
    picklist refused naming the field, and another partner's lead out of reach."""
    mine, theirs = org.ids["lead_A"], org.ids["lead_B"]
    out = as_rep("""
    async function main() {
      const views = await conn.sobject('Lead').listviews();
      const offered = views.listviews.find((v) => v.developerName === 'Leads_Offered_To_Partners');
      await step('view', async () => (await conn.sobject('Lead').listview(offered.id).results()).records
        .map((r) => r.columns.find((c) => c.fieldNameOrPath === 'Id').value));
      await step('columns', async () => (await conn.sobject('Lead').listview(offered.id).describe()).columns
        .map((c) => c.fieldNameOrPath));
      await step('badCode', () => conn.sobject('Lead').update({Id: process.env.MINE, Partner_Response__c: 'Rejected',
                                                               Rejection_Reason_Code__c: 'Too far away'}));
      await step('accept', () => conn.sobject('Lead').update({Id: process.env.MINE, Partner_Response__c: 'Accepted'},
                                                             {headers: {'Sforce-Auto-Assign': 'FALSE'}}));
      await step('theirs', () => conn.sobject('Lead').retrieve(process.env.THEIRS));
      await step('touch', () => conn.sobject('Lead').update({Id: process.env.THEIRS, Partner_Response__c: 'Accepted'}));
    }
    """, MINE=mine, THEIRS=theirs)
    assert out["view"] == [mine]
    # the view's columns the rep's permission set does not grant are not in the rep's view
    assert "Routing_Status__c" in out["columns"] and "Routing_Rule__c" not in out["columns"]
    assert out["badCode"]["error"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert "Too far away" in out["badCode"]["message"]
    assert out["accept"]["success"] is True
    assert org.org.get("Lead", mine)["Partner_Response__c"] == "Accepted"
    assert out["theirs"]["error"] == "NOT_FOUND"
    assert out["touch"]["error"] == "INSUFFICIENT_ACCESS_OR_READONLY"
    assert org.org.get("Lead", theirs)["Partner_Response__c"] is None


def test_jsforces_default_login_soap_works_for_a_rep(org, tmp_path):
    """jsforce's `conn.login(username, password)` without OAuth settings is the partner
    SOAP API's login(): the rep gets a session that then works over REST; a wrong password
    is INVALID_LOGIN, as Salesforce's login fault says it."""
    env = require()
    jsforce_dir = SALESFORCE / "node_modules" / "@jsforce" / "jsforce-node"
    if not (jsforce_dir / "package.json").exists():
        pytest.skip(f"jsforce is not installed in {jsforce_dir}")
    c = org.connection
    script = tmp_path / "soap.js"
    script.write_text(r"""
    const jsforce = require(process.env.JSFORCE_DIR);
    const out = {};
    async function attempt(name, password) {
      const conn = new jsforce.Connection({loginUrl: process.env.SF_LOGIN_URL, version: '62.0'});
      try {
        const info = await conn.login('rep.a@partner.sandbox', password);
        out[name] = {user: info.id, org: info.organizationId, instance: conn.instanceUrl,
                     leads: (await conn.query('SELECT Id FROM Lead')).records.map((r) => r.Id)};
      } catch (e) { out[name] = {error: e.errorCode || e.name, message: String(e.message)}; }
    }
    attempt('good', process.env.SF_PASSWORD).then(() => attempt('bad', 'wrong'))
      .then(() => console.log(JSON.stringify(out)));
    """)
    done = subprocess.run(["node", str(script)], capture_output=True, text=True, timeout=120,
                          env={**env, "JSFORCE_DIR": str(jsforce_dir), "SF_LOGIN_URL": c["login_url"],
                               "SF_PASSWORD": c["password"], "NODE_EXTRA_CA_CERTS": c["ca_file"]})  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    good = out["good"]
    assert good.get("error") is None, good
    assert good["user"] == org.ids["A"] and good["org"] == org.org.organization_id
    assert good["instance"] == c["instance_url"]
    assert good["leads"] == [org.ids["lead_A"]]  # the rep's own session, with the rep's sharing
    assert "INVALID_LOGIN" in out["bad"]["message"], out["bad"]


def test_fields_the_permission_set_does_not_grant_are_not_there_for_the_rep(as_rep, org):
    """Field-level security on reads, as on describe: the rep's record read leaves out the
    routing internals its permission set does not grant, and a query naming one is refused
    as Salesforce refuses a field the user cannot see (INVALID_FIELD, No such column)."""
    lead = org.ids["lead_A"]
    org.org.update("Lead", lead, {"Routing_Attempt__c": 2, "Routing_Rule__c": "Covering partner"})
    out = as_rep("""
    async function main() {
      await step('record', () => conn.sobject('Lead').retrieve(process.env.LEAD));
      await step('records', () => conn.sobject('Lead').retrieve([process.env.LEAD]));
      await step('asked', () => conn.request('/services/data/v62.0/sobjects/Lead/' + process.env.LEAD + '?fields=Routing_Rule__c'));
      await step('query', () => conn.query('SELECT Id, Routing_Rule__c FROM Lead'));
      await step('where', () => conn.query("SELECT Id FROM Lead WHERE Routing_Attempt__c > 1"));
      await step('columns', () => conn.request('/services/data/v62.0/query?columns=true&q=' +
                                               encodeURIComponent('SELECT Id, Routing_Rule__c FROM Lead')));
      await step('search', () => conn.search('FIND {Offered} IN ALL FIELDS RETURNING Lead(Id, Routing_Rule__c)'));
      await step('found', () => conn.search('FIND {Offered} IN ALL FIELDS RETURNING Lead(Id, Company)'));
      await step('allowed', () => conn.query('SELECT Id, Routing_Status__c, Offer_Deadline__c FROM Lead'));
    }
    """, LEAD=lead)
    for name in ("record", "records"):
        record = out[name][0] if isinstance(out[name], list) else out[name]
        assert record.get("error") is None, record
        assert record["Routing_Status__c"] == "Offered" and record["Company"] == "Offered to A"
        assert "Routing_Attempt__c" not in record and "Routing_Rule__c" not in record
    for name in ("asked", "query", "where", "columns", "search"):
        assert out[name]["error"] == "INVALID_FIELD", (name, out[name])
    assert "Routing_" in out["query"]["message"] and "No such column" in out["query"]["message"]
    assert out["allowed"]["totalSize"] == 1
    assert [r["Id"] for r in out["found"]["searchRecords"]] == [lead]


def test_bulk_api_jobs_of_a_rep_run_with_the_reps_sharing(as_rep, org):
    """Bulk API 2.0 runs as the user who created the job, sharing and field-level security
    included: a rep's query job reads its own lead only, and its ingest job cannot touch
    another partner's lead or create one."""
    out = as_rep("""
    async function main() {
      conn.bulk2.pollInterval = 100;
      await step('query', async () => (await conn.bulk2.query('SELECT Id, Company FROM Lead')).toArray());
      await step('hidden', async () => (await conn.bulk2.query('SELECT Id, Routing_Rule__c FROM Lead')).toArray());
      await step('update', () => conn.bulk2.loadAndWaitForResults({object: 'Lead', operation: 'update',
        input: [{Id: process.env.MINE, Partner_Response__c: 'Accepted'}, {Id: process.env.THEIRS, Partner_Response__c: 'Accepted'}]}));
      await step('insert', () => conn.bulk2.loadAndWaitForResults({object: 'Lead', operation: 'insert',
        input: [{LastName: 'Mine', Company: 'Self-made'}]}));
    }
    """, MINE=org.ids["lead_A"], THEIRS=org.ids["lead_B"])
    assert [r["Id"] for r in out["query"]] == [org.ids["lead_A"]], out["query"]
    assert out["hidden"]["error"] == "INVALIDJOB" or "Routing_Rule__c" in out["hidden"]["message"], out["hidden"]
    update = out["update"]
    assert [r["sf__Id"] for r in update["successfulResults"]] == [org.ids["lead_A"]]
    assert [r["sf__Error"].split(":")[0] for r in update["failedResults"]] == ["INSUFFICIENT_ACCESS_OR_READONLY"]
    assert org.org.get("Lead", org.ids["lead_B"])["Partner_Response__c"] is None
    assert out["insert"]["successfulResults"] == [] and len(out["insert"]["failedResults"]) == 1


def test_the_rep_reads_the_history_of_its_own_leads_only(as_rep, org):
    """LeadHistory is readable as far as its lead is: the rep sees who changed what on the
    lead offered to it, not another partner's rejections."""
    mine, theirs = org.ids["lead_A"], org.ids["lead_B"]
    org.org.update("Lead", mine, {"Routing_Status__c": "Accepted"})
    org.org.update("Lead", theirs, {"Rejection_Reason_Code__c": "No capacity"})
    out = as_rep("""
    async function main() {
      await step('history', async () => (await conn.query('SELECT LeadId, Field, NewValue FROM LeadHistory')).records
        .map((r) => [r.LeadId, r.Field, r.NewValue]));
      await step('count', async () => (await conn.query('SELECT COUNT() FROM LeadHistory')).totalSize);
      await step('row', () => conn.sobject('LeadHistory').retrieve(process.env.THEIRS_ROW));
    }
    """, THEIRS_ROW=next(h["Id"] for h in org.org.records("LeadHistory") if h["LeadId"] == theirs))
    assert out["history"] and {lead for lead, _, _ in out["history"]} == {mine}, out["history"]
    assert [mine, "Routing_Status__c", "Accepted"] in out["history"]
    assert out["count"] == len(out["history"])
    assert out["row"]["error"] == "NOT_FOUND"


def test_the_rep_sees_its_own_tasks_and_those_on_its_leads_only(as_rep, org):
    """Activities are controlled by their parent: a Task on another partner's lead, owned
    by another partner's rep, is out of the rep's reach; its own are there."""
    ids = org.ids
    mine = org.org.create("Task", {"Subject": "Call the lead", "WhoId": ids["lead_A"], "OwnerId": ids["A"]})
    theirs = org.org.create("Task", {"Subject": "Call the lead", "WhoId": ids["lead_B"], "OwnerId": ids["B"]})
    out = as_rep("""
    async function main() {
      await step('tasks', async () => (await conn.query('SELECT Id FROM Task')).records.map((r) => r.Id));
      await step('theirs', () => conn.sobject('Task').retrieve(process.env.THEIRS));
      await step('close', () => conn.sobject('Task').update({Id: process.env.THEIRS, Status: 'Completed'}));
    }
    """, THEIRS=theirs)
    assert out["tasks"] == [mine]
    assert out["theirs"]["error"] == "NOT_FOUND"
    assert out["close"]["error"] == "INSUFFICIENT_ACCESS_OR_READONLY"
    assert org.org.get("Task", theirs)["Status"] == "Not Started"


def test_the_rep_reads_its_own_partner_account_and_contacts_only(as_rep, org):
    """The external org-wide defaults are Private: a partner user reads its own partner
    account (Read, through its portal role) and the contacts on it (Controlled by Parent),
    no other partner's; the Account fields the connector routes by (weights, tiers,
    capacity) are granted only to the integration user, so the rep's FLS hides them. The
    rep read every partner's account with its routing weight, and renamed its own."""
    o, ids = org.org, org.ids
    mine = o.get("User", ids["A"])["AccountId"]
    colleague = o.create("User", {"Username": "rep.a2@partner.sandbox", "LastName": "Rep A2", "Email": "a2@partner.test",
                                  "UserType": "PowerPartner", "AccountId": mine})  # fmt: skip
    o.create("Lead", {"LastName": "Lead", "Company": "Colleague's", "OwnerId": colleague, "PartnerAccountId": mine})
    out = as_rep("""
    async function main() {
      await step('accounts', async () => (await conn.query('SELECT Id, Name FROM Account')).records.map((r) => r.Name));
      await step('contacts', async () => (await conn.query('SELECT LastName FROM Contact')).records.map((r) => r.LastName));
      await step('partnerLeads', async () => (await conn.query('SELECT Name, (SELECT Company FROM PartnerLeads) FROM Account'))
        .records.map((r) => [r.Name, r.PartnerLeads && r.PartnerLeads.records.map((l) => l.Company)]));
      await step('other', () => conn.sobject('Account').retrieve(process.env.OTHER));
      await step('weights', () => conn.query('SELECT Id, Routing_Weight__c FROM Account'));
      await step('rename', () => conn.sobject('Account').update({Id: process.env.MINE, Name: 'Renamed'}));
      await step('search', async () => (await conn.search('FIND {Partner} IN NAME FIELDS RETURNING Account(Name)')).searchRecords
        .map((r) => r.Name));
    }
    """, MINE=mine, OTHER=o.get("User", ids["B"])["AccountId"])
    assert out["accounts"] == ["Partner A"], out["accounts"]
    assert out["contacts"] == ["Rep A"], out["contacts"]
    assert out["partnerLeads"] == [["Partner A", ["Offered to A"]]], out["partnerLeads"]
    assert out["other"]["error"] == "NOT_FOUND", out["other"]
    assert out["weights"]["error"] == "INVALID_FIELD", out["weights"]
    assert out["rename"]["error"] == "INSUFFICIENT_ACCESS_OR_READONLY", out["rename"]
    assert o.get("Account", mine)["Name"] == "Partner A"
    assert out["search"] == ["Partner A"], out["search"]


def test_the_rep_cannot_take_the_connectors_lease_or_join_a_queue(as_rep, org):
    """The rep's permission set grants no access to LeadRouter_Lease__c, and a partner user
    has no Manage Users: the lease object is not there for it (describe, SOQL, create), and
    it cannot add itself to a queue (which would share the queue's leads with it) or edit
    another user. Before, a rep's token could write a lease the connector obeys."""
    o = org.org
    queue = next(g["Id"] for g in o.records("Group") if g.get("Type") == "Queue")
    lease = o.create("LeadRouter_Lease__c", {"Name": "org:1", "Key__c": "org:1", "Term__c": 1})
    out = as_rep("""
    async function main() {
      await step('retrieve', () => conn.sobject('LeadRouter_Lease__c').retrieve([process.env.LEASE], {fields: ['Key__c']}));
      await step('get', () => conn.sobject('LeadRouter_Lease__c').retrieve(process.env.LEASE));
      await step('views', () => conn.sobject('LeadRouter_Lease__c').listviews());
      await step('create', () => conn.sobject('LeadRouter_Lease__c').create({Name: 'x', Key__c: 'rep:1', Term__c: 99}));
      await step('upsert', () => conn.sobject('LeadRouter_Lease__c').upsert({Key__c: 'rep:1', Name: 'x', Term__c: 99}, 'Key__c'));
      await step('query', () => conn.query('SELECT Id FROM LeadRouter_Lease__c'));
      await step('describe', () => conn.sobject('LeadRouter_Lease__c').describe());
      await step('global', async () => (await conn.describeGlobal()).sobjects.map((s) => s.name));
      await step('join', () => conn.sobject('GroupMember').create({GroupId: process.env.QUEUE, UserOrGroupId: process.env.ME}));
      await step('admin', () => conn.sobject('User').update({Id: process.env.ADMIN, LastName: 'Renamed'}));
    }
    """, QUEUE=queue, ME=org.ids["A"], ADMIN=o.admin_user_id, LEASE=lease)
    assert out["retrieve"].get("error") == "NOT_FOUND", out["retrieve"]
    assert out["get"].get("error") == "NOT_FOUND", out["get"]
    assert out["views"].get("error") == "NOT_FOUND", out["views"]
    assert out["create"].get("error") == "NOT_FOUND", out["create"]
    assert out["upsert"].get("error") == "NOT_FOUND", out["upsert"]
    assert out["query"]["error"] == "INVALID_TYPE", out["query"]
    assert out["describe"]["error"] == "NOT_FOUND", out["describe"]
    assert "LeadRouter_Lease__c" not in out["global"] and "Lead" in out["global"]
    assert [r["Key__c"] for r in o.records("LeadRouter_Lease__c")] == ["org:1"]
    assert out["join"]["error"] == "INSUFFICIENT_ACCESS_OR_READONLY", out["join"]
    assert not any(m["UserOrGroupId"] == org.ids["A"] for m in o.records("GroupMember"))
    assert out["admin"]["error"] == "INSUFFICIENT_ACCESS_OR_READONLY", out["admin"]


def test_get_updated_and_deleted_follow_the_reps_sharing(as_rep, org):
    """getUpdated and getDeleted return only the records the caller has access to (SOAP API
    Developer Guide, Data Replication): the rep's replication of Lead listed every lead."""
    o, ids = org.org, org.ids
    gone = o.create("Lead", {"LastName": "Gone", "Company": "Deleted", "OwnerId": ids["B"]})
    o.delete("Lead", gone)
    start = (o.clock.now() - timedelta(hours=1)).isoformat()
    org.clock.advance(timedelta(minutes=2))  # getUpdated covers whole minutes up to the org's present
    end = o.clock.now().isoformat()
    out = as_rep("""
    async function main() {
      await step('updated', async () => (await conn.sobject('Lead').updated(process.env.START, process.env.END)).ids);
      await step('deleted', async () => (await conn.sobject('Lead').deleted(process.env.START, process.env.END)).deletedRecords);
    }
    """, START=start, END=end)
    assert out["updated"] == [ids["lead_A"]], out["updated"]
    assert out["deleted"] == [], out["deleted"]


def test_the_rep_cannot_point_a_record_at_one_it_cannot_see(as_rep, org):
    """A lookup the user writes must name a record it can see: Salesforce refuses a Task
    about another partner's lead (WhoId), or an opportunity on another partner's account,
    with INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY; the rep logged a task on a lead it
    could not read. On its own lead and account the same writes go through."""
    o, ids = org.org, org.ids
    theirs_account = o.get("User", ids["B"])["AccountId"]
    mine_account = o.get("User", ids["A"])["AccountId"]
    out = as_rep("""
    async function main() {
      await step('theirs', () => conn.sobject('Task').create({Subject: 'Call', WhoId: process.env.THEIRS}));
      await step('mine', () => conn.sobject('Task').create({Subject: 'Call', WhoId: process.env.MINE}));
      await step('oppTheirs', () => conn.sobject('Opportunity').create({Name: 'Deal', StageName: 'Prospecting',
        CloseDate: '2027-01-01', AccountId: process.env.THEIR_ACCOUNT}));
      await step('oppMine', () => conn.sobject('Opportunity').create({Name: 'Deal', StageName: 'Prospecting',
        CloseDate: '2027-01-01', AccountId: process.env.MY_ACCOUNT}));
      await step('move', async () => conn.sobject('Task').update({Id: out.mine.id, WhoId: process.env.THEIRS}));
    }
    """, THEIRS=ids["lead_B"], MINE=ids["lead_A"], THEIR_ACCOUNT=theirs_account, MY_ACCOUNT=mine_account)
    assert out["theirs"]["error"] == "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY", out["theirs"]
    assert out["mine"]["success"] is True, out["mine"]
    assert out["oppTheirs"]["error"] == "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY", out["oppTheirs"]
    assert out["oppMine"]["success"] is True, out["oppMine"]
    assert out["move"]["error"] == "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY", out["move"]
    assert [t["WhoId"] for t in o.records("Task")] == [ids["lead_A"]]


def test_the_reps_describe_of_read_only_objects_offers_no_edit(as_rep, org):
    """Describe answers for the caller: the partner account and its contacts, and the setup
    objects, are read only to a rep, so describe says neither the object nor a field is
    createable or updateable (a tool offering edits by describe met INSUFFICIENT_ACCESS on
    save); an opportunity, which the rep may create, stays createable."""
    out = as_rep("""
    async function main() {
      await step('account', async () => { const d = await conn.sobject('Account').describe();
        return [d.createable, d.updateable, d.deletable, d.fields.find((f) => f.name === 'Name').updateable]; });
      await step('groupMember', async () => { const d = await conn.sobject('GroupMember').describe(); return d.createable; });
      await step('global', async () => Object.fromEntries((await conn.describeGlobal()).sobjects
        .filter((s) => ['Account', 'Contact', 'Opportunity'].includes(s.name)).map((s) => [s.name, s.createable])));
    }
    """)
    assert out["account"] == [False, False, False, False], out["account"]
    assert out["groupMember"] is False
    assert out["global"] == {"Account": False, "Contact": False, "Opportunity": True}, out["global"]


def test_a_task_about_another_partners_account_is_out_of_the_reps_reach(as_rep, org):
    """Activities are controlled by their parents, the What as much as the Who: a task
    another partner's rep logged on its own account (WhatId) is not the rep's to read."""
    o, ids = org.org, org.ids
    theirs = o.create("Task", {"Subject": "QBR", "WhatId": o.get("User", ids["B"])["AccountId"], "OwnerId": ids["B"]})
    mine = o.create("Task", {"Subject": "QBR", "WhatId": o.get("User", ids["A"])["AccountId"], "OwnerId": ids["B"]})
    out = as_rep("""
    async function main() {
      await step('tasks', async () => (await conn.query('SELECT Id FROM Task')).records.map((r) => r.Id));
    }
    """)
    assert out["tasks"] == [mine], (out, theirs)
