"""The systemd unit's install steps leave the config readable by the user the unit runs
as: a directory made 0750 root:root shut `User=leadrouter` out of its own config, and
`leadrouter run` failed at start with a permission error."""
from __future__ import annotations

import re
from pathlib import Path

UNIT = Path(__file__).resolve().parents[2] / "deploy" / "systemd" / "leadrouter.service"


def _installs(text: str) -> list[tuple[str, str | None, list[str], str]]:
    """(mode, group or None, files, target) of every `install` line in the unit's comments
    (files empty for `install -d`)."""
    out = []
    for line in re.findall(r"(?m)^#\s+install (.+?)(?:\s+#.*)?$", text):
        words = line.split()
        mode = words[words.index("-m") + 1]
        group = words[words.index("-g") + 1] if "-g" in words else None
        args = [w for i, w in enumerate(words) if not w.startswith("-") and words[i - 1] not in ("-m", "-g", "-o")]
        out.append((mode, group, [] if "-d" in words else args[:-1], args[-1]))
    return out


def test_the_config_directory_and_files_are_readable_by_the_units_user():
    text = UNIT.read_text()
    user = re.search(r"(?m)^User=(\S+)$", text).group(1)
    group = re.search(r"(?m)^Group=(\S+)$", text).group(1)
    config = Path(re.search(r"(?m)^Environment=LEADROUTER_CONFIG=(\S+)$", text).group(1))
    steps = _installs(text)
    checked = []
    for mode, owner_group, files, target in steps:
        if not (files == [] and Path(target) == config.parent) and not any(f.endswith(".toml") for f in files):
            continue  # the key and the env file are read by systemd itself (root)
        readable = int(mode[-1]) & 4 or (owner_group == group and int(mode[-2]) & 4)
        assert readable, f"install -m {mode} {' '.join(files)} {target}: {user} (group {group}) cannot read it"
        checked.append(target)
    assert str(config.parent) in checked and len(checked) >= 2, steps
