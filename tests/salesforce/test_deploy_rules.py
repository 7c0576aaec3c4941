"""Rules Salesforce's Metadata API applies when `sf project deploy start` sends salesforce/:
a component that breaks one fails the whole deploy, so the first step of connecting an org
fails. No org here, so each rule is checked on the shipped XML, citing where it is written.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[2] / "salesforce/force-app/main/default"
NS = "{http://soap.sforce.com/2006/04/metadata}"


def _root(path: Path) -> ET.Element:
    return ET.parse(path).getroot()


def _text(node: ET.Element, tag: str) -> str:
    return (node.findtext(f"{NS}{tag}") or "").strip()


def _true(node: ET.Element, tag: str) -> bool:
    return _text(node, tag) == "true"


CUSTOM_OBJECTS = sorted((SOURCE / "objects").glob("*__c/*.object-meta.xml"))

@pytest.mark.parametrize("path", CUSTOM_OBJECTS, ids=lambda p: p.parent.name)
def test_bulk_sharing_and_streaming_are_on_or_off_together(path):
    """CustomObject (Metadata API Developer Guide): enableBulkApi "When enabled,
    enableSharing and enableStreamingApi must also be enabled" — the three together make
    an Enterprise Application object; an object with only some of them fails to deploy."""
    root = _root(path)
    flags = {tag: _true(root, tag) for tag in ("enableBulkApi", "enableSharing", "enableStreamingApi")}
    assert len(set(flags.values())) == 1, f"{path.name}: {flags}"
