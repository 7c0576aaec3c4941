"""Ops-editable field mappings between Salesforce records and the routing model.

    ms = load_mappings()                  # shipped defaults, or a directory / files
    problems = ms.validate(describe)      # against the org, before anything runs
    to_lead = ms.lead_converter()         # record dict → Lead | Unroutable
    updates = ms.decision_writeback(decision, "Offered")

See mappings/defaults/*.toml for the file format.
"""
from .converter import Unroutable
from .errors import MappingError, Problem
from .loader import load_mappings
from .mapping_set import MappingSet

__all__ = ["MappingError", "MappingSet", "Problem", "Unroutable", "load_mappings"]
