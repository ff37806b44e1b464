"""The container files run exactly the Procfile's `groundswell` commands (the commands
themselves are run for real by the other scale-out tests: serve, worker, db upgrade), and
the Dockerfile stays small and standard. Images cannot be pulled here, so none is built."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[2]


def _procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


def test_compose_services_run_the_procfile_commands() -> None:
    compose = YAML(typ="safe").load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"db", "release", "web", "worker", "clock"}
    assert services["db"]["image"].startswith("postgres:")
    procfile = _procfile()
    for role in ("release", "web", "worker", "clock"):
        command = " ".join(services[role]["command"])
        assert command == procfile[role].replace("$PORT", "8000"), role
        assert services[role]["environment"]["DATABASE_URL"].startswith("postgresql+psycopg://")
    for role in ("web", "worker", "clock"):  # never before the schema is up to date
        assert services[role]["depends_on"]["release"] == {
            "condition": "service_completed_successfully"
        }


def test_dockerfile_is_the_official_slim_python_running_the_web_command() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.\d+-slim$", text, re.M)
    assert "USER groundswell" in text  # never as root
    cmd = re.search(r'^CMD \["sh", "-c", "exec (.+)"\]$', text, re.M)
    assert cmd and cmd.group(1) == _procfile()["web"].replace("$PORT", "${PORT}")
    copied = re.findall(r"^COPY (\S+) ", text, re.M)
    for source in copied:  # everything the image needs exists (and nothing from tests/)
        assert (ROOT / source).exists(), source
    assert not any(source.startswith("tests") for source in copied)


def test_every_procfile_command_is_a_real_command() -> None:
    for role, line in _procfile().items():
        words = line.split()
        assert words[0] == "groundswell", role
        args = [w for w in words[1:] if not w.startswith(("-", "$", "0.0.0.0"))]
        done = subprocess.run(
            [sys.executable, "-c", "from bot.cli import main; main()", *args, "--help"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, (role, done.stderr)
