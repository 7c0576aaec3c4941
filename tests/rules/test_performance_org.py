"""jobs/performance.py end to end: offers from the state database, conversions and
partner wins from a sandbox org over HTTPS, facts as of the org's clock."""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

from connector import ConnectorConfig, SalesforceClient
from jobs import performance
from jobs.state import Store
from jobs.state import offers as of
from rules.model import Partner
from tests.jobs.conftest import SECRET_ENV, connector_config_data


def test_facts_from_our_offers_and_the_orgs_wins(sandbox_factory, tmp_path):
    sb = sandbox_factory()
    now = sb.clock.now()
    org = sb.org
    a = org.create("Account", {"Name": "Alpha Partners", "IsPartner": True})
    b = org.create("Account", {"Name": "Beta Partners", "IsPartner": True})
    today = now.date()
    for amount in (1000, 2500, 4000):
        org.create("Opportunity", {"Name": f"Deal {amount}", "StageName": "Closed Won", "CloseDate": today,
                                   "Amount": amount, "PartnerAccountId": a})
    org.create("Opportunity", {"Name": "Lost deal", "StageName": "Closed Lost", "CloseDate": today, "PartnerAccountId": b})
    org.create("Opportunity", {"Name": "Old deal", "StageName": "Closed Won", "CloseDate": today - timedelta(days=200),
                               "Amount": 9, "PartnerAccountId": b})
    converted = org.create("Lead", {"LastName": "Won", "Company": "Won Co", "PartnerAccountId": a, "IsConverted": True,
                                    "ConvertedDate": today, "Status": "Closed - Converted"}, system=True)

    store = Store(f"sqlite:///{tmp_path / 'state.sqlite'}")
    t = now - timedelta(days=2)
    with store.begin() as conn:
        accepted = of.insert_offer(conn, lead_id=converted, kind="offer", partner_id=a, attempt=1, offered_at=t)
        of.set_offer(conn, accepted, status="accepted", accepted_at=t + timedelta(hours=4))
        declined = of.insert_offer(conn, lead_id="00Q000000000002AAA", kind="offer", partner_id=b, attempt=1,
                                   offered_at=t)
        of.close_offer(conn, declined, "rejected", "No capacity this month", t + timedelta(hours=1))
        lapsed = of.insert_offer(conn, lead_id="00Q000000000003AAA", kind="offer", partner_id=b, attempt=1,
                                 offered_at=t)
        of.close_offer(conn, lapsed, "lapsed", None, t + timedelta(hours=48))

    os.environ[SECRET_ENV] = sb.connection["client_secret"]
    client = SalesforceClient.connect(ConnectorConfig.model_validate(connector_config_data(sb, notify="none")),
                                      clock=sb.clock.now)
    with store.connect() as conn:
        facts = performance.facts(conn, client, now)
    fa, fb = facts[a], facts[b]
    assert fa.won_this_quarter == 3 and fa.revenue_this_quarter == 7500.0
    assert fa.converted_this_quarter == 1 and fa.accepted == 1 and fa.median_hours_to_accept == 4.0
    assert fa.open_load == 0  # its one accepted lead converted
    assert fb.won_this_quarter == 0 and fb.won_90d == 0  # lost, and a win from long ago
    assert fb.acceptance_rate == 0.0 and fb.lapse_rate == 0.5
    assert fb.decline_reasons == {"No capacity this month": 1}

    partners = [Partner(id=a, name="Alpha Partners"), Partner(id=b, name="Beta Partners"),
                Partner(id="001000000000099AAA", name="New Partners")]
    performance.attach(partners, facts)
    assert partners[0].extra["won_this_quarter"] == 3
    assert partners[2].extra["won_this_quarter"] == 0 and partners[2].extra["acceptance_rate"] is None


def test_this_quarter_is_the_orgs_fiscal_quarter_on_the_orgs_clock(sandbox_factory, tmp_path):
    from datetime import date, datetime, timezone

    from rules.fiscal import OrgCalendar

    sb = sandbox_factory()
    now = sb.clock.set(datetime(2027, 1, 20, 15, 0, tzinfo=timezone.utc))  # the org's clock, not the host's
    a = sb.org.create("Account", {"Name": "Alpha Partners", "IsPartner": True})
    for day in (date(2026, 10, 15), date(2026, 12, 15), date(2027, 1, 5)):
        sb.org.create("Opportunity", {"Name": f"Deal {day}", "StageName": "Closed Won", "CloseDate": day, "Amount": 100,
                                      "PartnerAccountId": a})
    os.environ[SECRET_ENV] = sb.connection["client_secret"]
    client = SalesforceClient.connect(ConnectorConfig.model_validate(connector_config_data(sb, notify="none")),
                                      clock=sb.clock.now)
    with Store(f"sqlite:///{tmp_path / 'state.sqlite'}").connect() as conn:
        calendar = performance.facts(conn, client, now)[a]
        from_february = performance.facts(conn, client, now, OrgCalendar(2))[a]  # quarters Nov–Jan, Feb–Apr, …
    assert calendar.won_this_quarter == 1  # January's
    assert from_february.won_this_quarter == 2 and from_february.revenue_this_quarter == 200.0  # December's too
    assert calendar.won_90d == from_february.won_90d == 2  # October 15th is more than 90 days before


def test_the_last_90_days_are_the_orgs_last_90_dates_in_any_time_zone(sandbox_factory, tmp_path):
    """A close date is an org date. "The last 90 days" are the org's last 90 dates, today
    included, whatever the org's zone and the hour: at 20:00 in Los Angeles (already the
    next day in UTC) a win of 89 days ago dropped out, and at 08:00 in Sydney (still the day
    before in UTC) one of 90 days ago still counted."""
    from datetime import date, datetime, timezone

    from rules.fiscal import OrgCalendar

    utc = timezone.utc
    for zone, org_now in (("America/Los_Angeles", datetime(2031, 3, 2, 4, 0, tzinfo=utc)),  # 1 March, 20:00 there
                          ("Australia/Sydney", datetime(2031, 2, 28, 21, 0, tzinfo=utc)),  # 1 March, 08:00 there
                          ("UTC", datetime(2031, 3, 1, 12, 0, tzinfo=utc))):
        sb = sandbox_factory()
        now = sb.clock.set(org_now)
        a = sb.org.create("Account", {"Name": "Alpha Partners", "IsPartner": True})
        for day in (date(2030, 12, 1), date(2030, 12, 2)):  # 90 and 89 days before 1 March
            sb.org.create("Opportunity", {"Name": f"Deal {day}", "StageName": "Closed Won", "CloseDate": day,
                                          "Amount": 100, "PartnerAccountId": a})
        os.environ[SECRET_ENV] = sb.connection["client_secret"]
        client = SalesforceClient.connect(ConnectorConfig.model_validate(connector_config_data(sb, notify="none")),
                                          clock=sb.clock.now)
        with Store(f"sqlite:///{tmp_path / (zone.replace('/', '-') + '.sqlite')}").connect() as conn:
            facts = performance.facts(conn, client, now, OrgCalendar(time_zone=zone))[a]
        client.close()
        assert (facts.won_90d, facts.revenue_90d) == (1, 100.0), f"{zone}: the win of 2 December only"


def test_revenue_won_in_several_currencies_adds_up_in_the_corporate_one(sandbox_factory, tmp_path):
    """A multi-currency org: 8,000 euros at 0.8 to the dollar are 10,000 dollars, not 8,000
    of them; a win in a currency the org no longer lists counts as a win and adds nothing."""
    from mappings.currency import OrgCurrencies

    sb = sandbox_factory()
    now = sb.clock.now()
    org = sb.org
    org.with_multi_currency("USD", {"EUR": 0.8, "GBP": 0.75})
    a = org.create("Account", {"Name": "Alpha Partners", "IsPartner": True})
    for amount, code in ((8000, "EUR"), (2000, "USD"), (300, "GBP")):
        org.create("Opportunity", {"Name": f"Deal {code}", "StageName": "Closed Won", "CloseDate": now.date(),
                                   "Amount": amount, "PartnerAccountId": a, "CurrencyIsoCode": code})
    store = Store(f"sqlite:///{tmp_path / 'state.sqlite'}")
    os.environ[SECRET_ENV] = sb.connection["client_secret"]
    client = SalesforceClient.connect(ConnectorConfig.model_validate(connector_config_data(sb, notify="none")),
                                      clock=sb.clock.now)
    currencies = OrgCurrencies("USD", {"USD": 1.0, "EUR": 0.8}, frozenset({"amount"}), {})  # pounds since dropped
    with store.connect() as conn:
        facts = performance.facts(conn, client, now, currencies=currencies)[a]
    assert facts.won_this_quarter == 3 and facts.revenue_this_quarter == 12_000.0


def test_with_advanced_currency_management_a_win_converts_at_the_rate_dated_for_its_close_date(
        sandbox_factory, tmp_path):
    """An org with advanced currency management dates its rates for opportunities: a win
    closed in a month when the euro stood at 0.5 to the dollar converts at 0.5, as
    Salesforce's own reports show it, not at today's static 0.8. The org says it has dated
    rates by letting DatedConversionRate be queried (INVALID_TYPE without it)."""
    from datetime import date

    from jobs import preflight as pf
    from mappings import load_mappings

    sb = sandbox_factory()
    now = sb.clock.set(datetime(2027, 3, 20, 12, 0, tzinfo=timezone.utc))
    org = sb.org
    org.with_multi_currency("USD", {"EUR": 0.8})
    os.environ[SECRET_ENV] = sb.connection["client_secret"]
    client = SalesforceClient.connect(ConnectorConfig.model_validate(connector_config_data(sb, notify="none")),
                                      clock=sb.clock.now)
    ms = load_mappings(None)
    assert pf.org_currencies(client, ms).dated is False, "static rates only, until dated ones are enabled"
    org.with_dated_rates({"EUR": [(date(2027, 1, 1), 0.5), (date(2027, 3, 1), 0.8)]})
    store = Store(f"sqlite:///{tmp_path / 'state.sqlite'}")
    currencies = pf.org_setup(client, ms, store, True, now)[0]
    assert currencies.dated is True
    assert pf.org_setup(None, ms, store, False, now)[0].dated is True, "kept in the state between full checks"
    a = org.create("Account", {"Name": "Alpha Partners", "IsPartner": True})
    for close in (date(2027, 2, 10), date(2027, 3, 10)):
        org.create("Opportunity", {"Name": f"Deal {close}", "StageName": "Closed Won", "CloseDate": close,
                                   "Amount": 8000, "PartnerAccountId": a, "CurrencyIsoCode": "EUR"})
    with store.connect() as conn:
        facts = performance.facts(conn, client, now, currencies=currencies)[a]
    client.close()
    # 8,000 € at 0.5 (February's rate) and 8,000 € at 0.8 (March's): 16,000 $ + 10,000 $
    assert facts.won_this_quarter == 2 and facts.revenue_this_quarter == 26_000.0


def test_dated_rates_are_read_only_to_the_api(sandbox_factory):
    from datetime import date

    from simple_salesforce.exceptions import SalesforceMalformedRequest

    from tests.conftest import salesforce_client

    sb = sandbox_factory()
    sb.org.with_multi_currency("USD", {"EUR": 0.8})
    sb.org.with_dated_rates({"EUR": [(date(2027, 1, 1), 0.5)]})
    sf = salesforce_client(sb)
    rows = sf.query("SELECT IsoCode, ConversionRate, StartDate, NextStartDate FROM DatedConversionRate "
                    "WHERE IsoCode = 'EUR' ORDER BY StartDate")["records"]
    assert [(r["StartDate"], r["NextStartDate"], r["ConversionRate"]) for r in rows] == [
        ("0001-01-01", "2027-01-01", 0.8), ("2027-01-01", None, 0.5)]
    try:
        sf.DatedConversionRate.create({"IsoCode": "EUR", "ConversionRate": 2.0, "StartDate": "2027-02-01"})
    except SalesforceMalformedRequest as e:
        assert "DatedConversionRate" in str(e.content)
    else:
        raise AssertionError("the API may not add a dated rate here")
