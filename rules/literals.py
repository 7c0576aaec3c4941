"""Best-effort check of the picklist values a condition compares with.

`rating == "Hott"` is valid rule-engine and type-checks, but no lead will ever match it.
The AST tells us which attribute each quoted value is compared with; where that
attribute is a picklist of the shipped schema, an unknown value becomes a warning with
the nearest known one. LeadSource is left out: orgs extend it more than any other.
"""
from __future__ import annotations

from typing import Any, Callable, Iterator

from rule_engine.ast import base as ast_base
from rule_engine.ast import literal as ast_lit
from rule_engine.ast.binary.comparison import ComparisonExpression
from rule_engine.ast.expression.access import ContainsExpression
from rule_engine.ast.expression.resolution import SymbolExpression

from rules import vocabulary as vocab

LEAD_PICKLISTS = {
    "rating": ("Hot", "Warm", "Cold"),
    "industry": vocab.INDUSTRIES,
    "products": vocab.PRODUCTS,
    "language": vocab.LANGUAGES,
    "status": ("Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted"),
    "routing_status": ("Pending", "Offered", "Accepted", "Escalated", "Fallback", "Unroutable", "Released", "Closed"),
    "response": ("Accepted", "Rejected"),
}
PARTNER_PICKLISTS = {
    "tier": vocab.TIERS,
    "role": vocab.ROLES,
    "programs": vocab.PROGRAMS,
    "certifications": vocab.CERTIFICATIONS,
    "industries": vocab.INDUSTRIES,
    "products": vocab.PRODUCTS,
    "languages": vocab.LANGUAGES,
}


def _strings(node: Any) -> list[str]:
    if isinstance(node, ast_lit.StringExpression):
        return [str(node.value)]
    if isinstance(node, (ast_lit.ArrayExpression, ast_lit.SetExpression)):
        return [v for e in node.value for v in _strings(e)]
    return []


def _children(node: Any) -> Iterator[Any]:
    for name in ("expression", "left", "right", "container", "member", "condition", "case_true", "case_false"):
        child = getattr(node, name, None)
        if isinstance(child, ast_base.ASTNodeBase):
            yield child
    if isinstance(node, (ast_lit.ArrayExpression, ast_lit.SetExpression)):
        yield from (e for e in node.value if isinstance(e, ast_base.ASTNodeBase))


def compared_values(node: Any) -> Iterator[tuple[str, str]]:
    """(attribute, quoted value) for every `attr == "v"`, `attr in ["v", …]`, `"v" in attr`."""
    if isinstance(node, ComparisonExpression) and node.type in ("eq", "ne"):
        for sym, lit in ((node.left, node.right), (node.right, node.left)):
            if isinstance(sym, SymbolExpression):
                for v in _strings(lit):
                    yield sym.name, v
    if isinstance(node, ContainsExpression):
        if isinstance(node.member, SymbolExpression):
            for v in _strings(node.container):
                yield node.member.name, v
        if isinstance(node.container, SymbolExpression):
            for v in _strings(node.member):
                yield node.container.name, v
    for child in _children(node):
        yield from compared_values(child)


def _string_nodes(node: Any) -> list[Any]:
    if isinstance(node, ast_lit.StringExpression):
        return [node]
    if isinstance(node, (ast_lit.ArrayExpression, ast_lit.SetExpression)):
        return [n for e in node.value for n in _string_nodes(e)]
    return []


def respell_compared(node: Any, attr: str, spell: Callable[[str], str | None]) -> None:
    """Write each quoted value compared with `attr` (`attr == "v"`, `attr in ["v", …]`) as
    `spell` gives it (None: as written), in place, before the condition is compiled: a rule's
    `tier == "gold"` compares with the org's "Gold", as Salesforce compares picklist values."""
    pairs = []
    if isinstance(node, ComparisonExpression) and node.type in ("eq", "ne"):
        pairs += [(sym, lit) for sym, lit in ((node.left, node.right), (node.right, node.left))]
    if isinstance(node, ContainsExpression):
        pairs.append((node.member, node.container))
    for sym, lit in pairs:
        if isinstance(sym, SymbolExpression) and sym.name == attr:
            for string in _string_nodes(lit):
                meant = spell(str(string.value))
                if meant is not None:
                    string.value = meant
    for child in _children(node):
        respell_compared(child, attr, spell)
