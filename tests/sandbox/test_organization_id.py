"""Every org has an Id of its own (00D…), the same in its Organization row, its session
ids, its identity URLs and its Pub/Sub tenant — and kept across a restart. Two sandbox
orgs sharing one would let a state database move between them unnoticed."""
from __future__ import annotations

from tests.conftest import client_credentials_token, salesforce_client


def organization_id(sb) -> str:
    sf = salesforce_client(sb)
    try:
        (row,) = sf.query("SELECT Id FROM Organization")["records"]
        return row["Id"]
    finally:
        sf.session.close()


def test_two_orgs_report_two_organization_ids(sandbox_factory):
    first, second = sandbox_factory(), sandbox_factory()
    assert organization_id(first) != organization_id(second)


def test_the_session_id_and_the_identity_url_name_the_orgs_own_id(sandbox):
    org_id = organization_id(sandbox)
    assert len(org_id) == 18 and org_id.startswith("00D")
    token = client_credentials_token(sandbox.connection)
    assert token.split("!")[0] == org_id[:15]  # the Pub/Sub API's tenant id is read from here


def test_a_restarted_org_keeps_its_id(sandbox_factory, tmp_path):
    sb = sandbox_factory(data_dir=tmp_path / "kept")
    before = organization_id(sb)
    sb.stop()
    again = sandbox_factory(data_dir=tmp_path / "kept")
    assert organization_id(again) == before
    assert client_credentials_token(again.connection).split("!")[0] == before[:15]
