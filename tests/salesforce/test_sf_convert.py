"""Salesforce's CLI turns salesforce/force-app into the package `sf project deploy start`
sends: offline, it refuses a file its metadata registry does not know (a wrong suffix or
folder) and leaves out what .forceignore names. Every shipped component must reach the
package, and the component tests must not."""
from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET

from tests.salesforce.toolchain import SALESFORCE, require

NS = "{http://soap.sforce.com/2006/04/metadata}"
SOURCE = SALESFORCE / "force-app/main/default"


def _shipped() -> dict[str, set[str]]:
    """The components the source holds, by Metadata API type, named as package.xml names them."""
    objects = SOURCE / "objects"
    return {
        "CustomField": {f"{p.parents[1].name}.{p.name.split('.')[0]}" for p in objects.glob("*/fields/*.field-meta.xml")},
        "CustomObject": {p.parent.name for p in objects.glob("*/*.object-meta.xml")},
        "ListView": {f"{p.parents[1].name}.{p.name.split('.')[0]}" for p in objects.glob("*/listViews/*.listView-meta.xml")},
        "PermissionSet": {p.name.split(".")[0] for p in (SOURCE / "permissionsets").iterdir()},
        "CustomNotificationType": {p.name.split(".")[0] for p in (SOURCE / "notificationtypes").iterdir()},
        "PlatformEventChannelMember": {p.name.split(".")[0] for p in (SOURCE / "platformEventChannelMembers").iterdir()},
        "LightningComponentBundle": {p.name for p in (SOURCE / "lwc").iterdir() if p.is_dir()},
    }  # fmt: skip


def test_the_cli_converts_every_shipped_component_and_no_test(tmp_path):
    env = require("sf")
    env.update({"HOME": str(tmp_path / "home"), "SF_DISABLE_TELEMETRY": "true", "SF_AUTOUPDATE_DISABLE": "true",
                "SF_SKIP_NEW_VERSION_CHECK": "true", "SF_CONTAINER_MODE": "true"})  # fmt: skip
    (tmp_path / "home").mkdir()
    out = tmp_path / "mdapi"
    run = subprocess.run(["sf", "project", "convert", "source", "--root-dir", "force-app", "--output-dir", str(out)],
                         cwd=SALESFORCE, env=env, capture_output=True, text=True, timeout=240)  # fmt: skip
    assert run.returncode == 0, f"sf refused the source:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    package = ET.parse(out / "package.xml").getroot()
    converted = {t.findtext(f"{NS}name"): {m.text for m in t.findall(f"{NS}members")} for t in package.findall(f"{NS}types")}
    assert converted == _shipped()
    project = json.loads((SALESFORCE / "sfdx-project.json").read_text(encoding="utf-8"))
    assert package.findtext(f"{NS}version") == project["sourceApiVersion"]
    assert not list(out.rglob("__tests__")), "the Jest tests would be deployed"


def test_the_cli_generates_a_manifest_naming_every_shipped_component(tmp_path):
    """`sf project generate manifest` (offline) writes the package.xml an admin deploys with
    `sf project deploy start --manifest`: it must name what the source holds, at the
    project's API version."""
    env = require("sf")
    env.update({"HOME": str(tmp_path / "home"), "SF_DISABLE_TELEMETRY": "true", "SF_AUTOUPDATE_DISABLE": "true",
                "SF_SKIP_NEW_VERSION_CHECK": "true", "SF_CONTAINER_MODE": "true"})  # fmt: skip
    (tmp_path / "home").mkdir()
    run = subprocess.run(["sf", "project", "generate", "manifest", "--source-dir", "force-app", "--output-dir",
                          str(tmp_path), "--json"], cwd=SALESFORCE, env=env, capture_output=True, text=True,
                         timeout=240)  # fmt: skip
    assert run.returncode == 0, f"sf refused the source:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    package = ET.parse(tmp_path / "package.xml").getroot()
    named = {t.findtext(f"{NS}name"): {m.text for m in t.findall(f"{NS}members")} for t in package.findall(f"{NS}types")}
    assert named == _shipped()
    project = json.loads((SALESFORCE / "sfdx-project.json").read_text(encoding="utf-8"))
    assert package.findtext(f"{NS}version") == project["sourceApiVersion"]


def test_the_root_project_file_is_salesforce_s_seen_from_the_root():
    """The docs' `sf project deploy start --source-dir salesforce/force-app` runs from the
    checkout's root, where sf reads ./sfdx-project.json and ./.forceignore: they must say what
    salesforce/'s say (its package directory, API version, what is left out), or a deploy from
    the root sends something else than one from salesforce/."""
    root = SALESFORCE.parent
    ours, theirs = (json.loads((d / "sfdx-project.json").read_text(encoding="utf-8")) for d in (root, SALESFORCE))
    assert [p["path"] for p in ours["packageDirectories"]] == [f"salesforce/{p['path']}" for p in theirs["packageDirectories"]]
    assert {k: ours[k] for k in ("sourceApiVersion", "namespace", "sfdcLoginUrl", "name")} == {
        k: theirs[k] for k in ("sourceApiVersion", "namespace", "sfdcLoginUrl", "name")}

    def patterns(path):
        return [line.strip() for line in path.read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.startswith("#")]

    assert patterns(root / ".forceignore") == patterns(SALESFORCE / ".forceignore")
