"""A distributor chain that comes back to itself is refused, naming the accounts."""
from __future__ import annotations

from rules.index import parent_cycles
from rules.model import Partner


def partners(**parents):
    return {pid: Partner(id=pid, name=f"Acct {pid}", parent_id=parent) for pid, parent in parents.items()}


def test_an_account_that_is_its_own_parent_is_a_cycle():
    assert parent_cycles(partners(A="A", B="A")) == {"A": "Acct A → Acct A"}


def test_a_two_account_loop_names_both_and_leaves_the_honest_reseller_alone():
    found = parent_cycles(partners(A="B", B="A", C="A"))
    assert set(found) == {"A", "B"} and "Acct A" in found["A"] and "Acct B" in found["A"]
    assert "C" not in found, "C points into the loop but is not part of it"


def test_a_plain_hierarchy_has_no_cycle():
    assert parent_cycles(partners(D=None, R1="D", R2="D", X="elsewhere")) == {}
