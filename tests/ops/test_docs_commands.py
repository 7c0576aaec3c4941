"""What the README and docs/ tell a person to type is what the CLI takes, and the config
keys they name are keys the config accepts (and config.example.toml shows every key the
connector's [salesforce] tables accept, as it does the other sections'; tests/jobs/test_config.py)."""
from __future__ import annotations

import argparse
import itertools
import re
import shlex
import textwrap
import tomllib
from pathlib import Path

import pytest

from jobs.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
        *(ROOT / d / "README.md" for d in ("sandbox", "mappings", "rules", "salesforce"))]
SAMPLE_LEAD = "00Q5g00000ABCDEEA5"  # 18 characters, as Salesforce shows a Lead's id


def commands(text: str) -> list[tuple[str, bool]]:
    """(command, in a code block) for every `leadrouter …` or `./dev …` the text shows."""
    found, prose, fence = [], [], None
    text = re.sub(r"\\\n\s*", " ", text)  # a command continued on the next line is one command
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fence = None if fence is not None else line.strip()[3:]
        elif fence is None:
            prose.append(line)
        elif fence in ("", "sh", "bash", "console") and line.strip().startswith(("leadrouter ", "./dev ")):
            found.append((line.strip(), True))
    for span in re.findall(r"`([^`\n]+)`", "\n".join(prose)):
        if span.startswith(("leadrouter ", "./dev ")):
            found.append((span, False))
    return found


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _variants(command: str) -> list[list[str]]:
    """The argument lists a documented command stands for: a comment dropped, each
    `[--since 90d]` with and without, each `a|b` alternative, a placeholder filled in."""
    command = re.sub(r"\s+#.*$", "", command)
    command = command.replace("<id>", SAMPLE_LEAD).replace("LEAD_ID", SAMPLE_LEAD).replace("<command>", "once")
    command = re.sub(r"\bN\b", "50", re.sub(r"\bDATA\b", "./org", command))  # sandbox/README.md's placeholders
    optional = re.findall(r"\[([^\]]+)\]", command)
    out = []
    for keep in itertools.product((True, False), repeat=len(optional)):
        text = command
        for group, kept in zip(optional, keep):
            text = text.replace(f"[{group}]", group if kept else "", 1)
        try:
            tokens = shlex.split(text)[1:]
        except ValueError:  # a quote of the sentence around it
            tokens = text.split()[1:]
        if tokens[:1] == ["test"]:  # ./dev test runs pytest, not the CLI
            return []
        choices = [t.split("|") if "|" in t and not t.startswith("-") else [t] for t in tokens]
        out += [list(combo) for combo in itertools.product(*choices)]
    return out


def problems(command: str, in_block: bool) -> list[str]:
    found = []
    for args in _variants(command):
        parser, path = build_parser(), []
        rest = list(args)
        while rest and rest[0] in (subs := _subparsers(parser)):
            parser = subs[rest[0]]
            path.append(rest.pop(0))
        if not path and rest in (["--version"], ["--help"]):
            continue
        if not path:
            found.append(f"{args}: no such command")
            continue
        if _subparsers(parser):
            found.append(f"{args}: `leadrouter {' '.join(path)}` needs a subcommand")
            continue
        if "…" in rest:
            # `--config …`: the reader fills in the rest; the options shown must exist
            known = {s for a in parser._actions for s in a.option_strings}
            unknown = [t.split("=")[0] for t in rest if t.startswith("--") and t.split("=")[0] not in known]
            if unknown:
                found.append(f"{args}: unknown option(s) {unknown}")
            continue
        if not rest and not in_block:
            continue  # a command named in a sentence (`leadrouter backtest replays…`), not typed
        try:
            build_parser().parse_args(args)
        except SystemExit as e:
            if e.code != 0:  # 0: --help
                found.append(f"{args}: the CLI refuses it")
    return found


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_command_the_docs_show_is_one_the_cli_takes(doc, capsys):
    shown = commands(doc.read_text())
    assert shown or doc.parent != ROOT
    bad = [f"{c!r}: {p}" for c, block in shown for p in problems(c, block)]
    capsys.readouterr()  # argparse's own complaints
    assert not bad, "\n".join(bad)


def test_the_check_catches_a_wrong_command(capsys):
    assert problems("leadrouter explain 00Q5g00000ABCDEF0", True) == []
    assert problems("leadrouter dry-run --limt 200", True)
    assert problems("leadrouter explain --config x.toml", True)  # no lead id
    assert problems("leadrouter status --config … --jsn", False)
    assert problems("leadrouter sandbox", True)


def test_the_readme_explain_example_is_an_id_explain_accepts():
    from connector.records import id18  # what explain checks an id with

    shown = [args[1] for c, _ in commands((ROOT / "README.md").read_text()) for args in _variants(c)
             if args[:1] == ["explain"] and len(args) > 1 and not args[1].startswith("-")]
    assert shown
    for lead_id in shown:
        id18(lead_id)


def _connector_keys() -> dict[str, set[str]]:
    from connector.config import AuthConfig, ConnectorConfig, RetryConfig

    auth_models = AuthConfig.__origin__.__args__  # type: ignore[attr-defined]
    return {
        "salesforce": set(ConnectorConfig.model_fields) - {"auth", "retry", "budget", "notify"},
        "salesforce.auth": set().union(*(m.model_fields for m in auth_models)),
        "salesforce.retry": set(RetryConfig.model_fields),
    }


def test_config_example_shows_every_key_of_the_salesforce_tables():
    text = (ROOT / "config.example.toml").read_text()
    missing = [f"[{table}] {key}" for table, keys in _connector_keys().items() for key in sorted(keys)
               if not re.search(rf"(^|[\s#(`,]){re.escape(key)}\b", text, re.M)]
    assert not missing, f"not in config.example.toml: {missing}"


def test_config_keys_the_docs_show_in_toml_blocks_are_keys_the_config_takes(tmp_path):
    from jobs.config import Settings

    tables: dict[str, set[str]] = {s: set(getattr(f.annotation, "model_fields", {}))
                                   for s, f in Settings.model_fields.items()}
    tables.update(_connector_keys())
    bad, checked = [], []
    for doc in DOCS:
        for block in re.findall(r"^[ \t]*```toml\n(.*?)^[ \t]*```", doc.read_text(), re.S | re.M):
            try:
                data = tomllib.loads(textwrap.dedent(block))
            except tomllib.TOMLDecodeError:
                continue
            if not set(data) <= set(tables) | {"salesforce"}:
                continue  # a mapping or rule file, not the config
            for table, value in _flatten(data):
                checked.append(f"{doc.name}: [{table}] {value}")
                if table in tables and value not in tables[table]:
                    bad.append(checked[-1])
    assert "README.md: [salesforce.auth] private_key_file" in checked and not bad, bad


def _flatten(data: dict, prefix: str = ""):
    for key, value in data.items():
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            yield from _flatten(value, name)
        else:
            yield prefix, key


def test_config_keys_the_docs_name_in_prose_are_keys_the_config_takes():
    """`[budget] share`, `[salesforce] write_concurrency`: what a reader looks up in the file."""
    from jobs.config import Settings

    tables: dict[str, set[str]] = {s: set(getattr(f.annotation, "model_fields", {}))
                                   for s, f in Settings.model_fields.items()}
    tables.update(_connector_keys())
    bad, seen = [], 0
    for doc in [*DOCS, ROOT / "config.example.toml"]:
        text = " ".join(doc.read_text().split())  # a reference may break across lines
        for table, key in re.findall(r"`\[([a-z_.]+)\]\s+([a-z_]+)`?", text):
            if table in tables:
                seen += 1
                if key not in tables[table]:
                    bad.append(f"{doc.name}: [{table}] {key}")
    assert seen > 10 and not bad, bad


def _pasted_into_the_shipped_file(shipped: str, block: str) -> str:
    """The shipped lead.toml with the lines of a docs block put into its tables, replacing
    the attributes the block shows: what a reader who copied the folder and pasted does."""
    lines = shipped.splitlines()
    table = None
    for raw in block.splitlines():
        line = raw.strip()
        if line.startswith("["):
            table = line.split("]")[0] + "]"
            continue
        key = line.split("=", 1)[0].strip()
        if not key or key.startswith("#") or table is None:
            continue
        lines = [x for x in lines if not re.match(rf"\s*{re.escape(key)}\s*=", x)]
        at = next(i for i, x in enumerate(lines) if x.strip() == table)
        lines.insert(at + 1, line)
    return "\n".join(lines) + "\n"


def test_the_readme_mapping_example_pasted_into_the_shipped_lead_mapping_loads(tmp_path):
    """The README's example, copied into mappings/lead.toml as the README says to edit it,
    must load: `phone` shown under [lead.fields] failed ("'phone' is not a standard lead
    attribute"), since a phone is an attribute of one's own."""
    from mappings import MappingError, load_mappings

    text = (ROOT / "README.md").read_text()
    section = text.split("## Mappings: which field means what", 1)[1]
    block = section.split("```toml\n", 1)[1].split("```", 1)[0]
    assert "[lead.fields]" in block and "[lead.extra]" in block
    folder = tmp_path / "mappings"
    folder.mkdir()
    shipped = (ROOT / "mappings" / "defaults" / "lead.toml").read_text()
    (folder / "lead.toml").write_text(_pasted_into_the_shipped_file(shipped, block))
    try:
        ms = load_mappings(folder)
    except MappingError as e:
        pytest.fail(f"the README's mapping example does not load:\n{e}")
    assert {"segment", "phone"} <= set(ms.mapped_attributes("lead"))
    assert ms.source_fields("lead")["phone"] == ("MobilePhone", "Phone")


def test_a_mapping_section_without_its_sobject_says_where_to_add_it(tmp_path):
    from mappings import MappingError, load_mappings

    (tmp_path / "lead.toml").write_text('[lead.fields]\nid = "Id"\n')
    with pytest.raises(MappingError) as e:
        load_mappings(tmp_path)
    [missing] = [p for p in e.value.problems if "sobject is missing" in p.message]
    assert missing.fix and "[lead]" in missing.fix and 'sobject = "' in missing.fix, missing


def _options() -> list[str]:
    def walk(parser: argparse.ArgumentParser, path: str):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield from walk(sub, f"{path} {name}".strip())
            else:
                yield from (f"{path} {o}" for o in action.option_strings if o not in ("--help", "--config", "-h"))
    return sorted(set(walk(build_parser(), "")))


@pytest.mark.parametrize("option", _options())
def test_every_option_the_cli_takes_is_in_the_docs(option):
    """What `--help` offers, a reader finds in the docs too: what it does and when to use it."""
    text = "\n".join(p.read_text() for p in [*DOCS, ROOT / "config.example.toml"])
    flag = option.split()[-1]
    assert re.search(rf"{re.escape(flag)}(?![\w-])", text), f"`leadrouter {option}` is in --help, in no doc"


def _unexplained() -> list[str]:
    def walk(parser: argparse.ArgumentParser, path: str):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield from walk(sub, f"{path} {name}".strip())
            elif not action.help and not isinstance(action, argparse._HelpAction):
                yield f"{path} {'/'.join(action.option_strings) or action.dest}"
    return list(walk(build_parser(), ""))


def test_every_option_and_argument_says_what_it_does_in_help():
    """`leadrouter report --help` showed `--out OUT` and nothing more: not its default, not what it writes."""
    assert not _unexplained(), _unexplained()


def test_every_setting_the_docs_show_as_key_equals_value_is_one_a_file_takes():
    """`explore = 1` in docs/LEARNING.md read as a setting a channel manager may write; no
    rule file, config or mapping takes it ([settings] refuses it as an unknown key)."""
    from jobs.config import Settings
    from mappings.kinds import KINDS
    from mappings.spec import ATTRIBUTE_KEYS, OBJECT_KEYS
    from rules.book import _MATCH_KEYS, _RULE_KEYS, _RULESET_KEYS, _SETTINGS_KEYS, _TOP_KEYS

    known = {*_SETTINGS_KEYS, *_RULE_KEYS, *_MATCH_KEYS, *_RULESET_KEYS, *_TOP_KEYS, *ATTRIBUTE_KEYS, *OBJECT_KEYS,
             *(k for f in Settings.model_fields.values() for k in getattr(f.annotation, "model_fields", {})),
             *(k for keys in _connector_keys().values() for k in keys),
             *(a for kind in KINDS.values() for a in kind.attrs)}  # a mapping's attributes
    shown = [(doc.name, key) for doc in DOCS if doc.parent.name != "rules"  # rules/README is the model's own
             for key in re.findall(r"`([a-z_]+) = [^`]+`", doc.read_text())]
    assert shown and not [s for s in shown if s[1] not in known], shown


def test_where_the_docs_run_salesforces_cli_against_the_sandbox_they_say_which_node_runs_it():
    """README's `sf data query` against the sandbox, typed as shown with
    salesforce/node_modules/.bin/sf on a host whose own node is older, died in undici
    ("Cannot read properties of undefined (reading 'bind')"): sf runs the first `node` on
    PATH, and only the Node 22 that `./dev test` installs beside it runs sf."""
    for doc in (ROOT / "README.md", ROOT / "docs" / "DEPLOY.md"):
        text = " ".join(doc.read_text().split())
        for at in [m.start() for m in re.finditer("NODE_EXTRA_CA_CERTS", text)]:
            near = text[max(0, at - 600):at + 600]
            assert "salesforce/node_modules/.bin" in near and "PATH" in near, (
                f"{doc.name}: sf against the sandbox, without saying to put salesforce/node_modules/.bin first on PATH")


def test_config_example_lists_every_environment_variable_the_config_reads():
    """LEADROUTER_PUBSUB_URL and LEADROUTER_METRICS_BIND override the config too; the
    example's list of overrides, where a container's author looks, left them out."""
    from jobs.config import ENV_OVERRIDES

    header = (ROOT / "config.example.toml").read_text().split("\n[org]", 1)[0]
    listed = {name: " ".join(line.split()[2:]) for line in header.splitlines()
              if (name := (line.split() + ["", ""])[1]).startswith("LEADROUTER_")}
    missing = [f"{name} [{' '.join(where[:-1])}] {where[-1]}" for name, where in ENV_OVERRIDES.items()
               if name not in listed or f"[{'.'.join(where[:-1])}] {where[-1]}" not in listed[name]]
    assert not missing, f"not in config.example.toml's list of environment variables: {missing}"


def test_config_example_says_what_the_sandbox_org_needs_for_the_pub_sub_api():
    """A config written from the example for the local sandbox org kept pubsub_url =
    api.pubsub.salesforce.com: `run` logged salesforce_unavailable (the name does not
    resolve) and a stream_down_polling_meanwhile warning every few seconds. The sandbox
    serves the Pub/Sub API itself, at connection.json's pubsub_url, as it needs its CA."""
    stream = (ROOT / "config.example.toml").read_text().split("[stream]", 1)[1]
    assert "sandbox" in stream and "connection.json" in stream and "pubsub_url" in stream
