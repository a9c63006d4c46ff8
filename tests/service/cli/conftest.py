"""The CLI's tests run it against a real `switchboard serve` (a subprocess on a free loopback
port, SQLite, the offline demo model and its keys), as a person would with the service running;
commands run in-process (`main(argv)`) unless a test needs a real process."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from service.cli.main import main
from tests.channels.web.server import ServiceProcess

Result = tuple[int, str, str]  # exit code, stdout, stderr
Cli = Callable[..., Result]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServiceProcess]:
    service = ServiceProcess(tmp_path)
    service.start()
    try:
        yield service
    finally:
        service.stop()


def database_of(tmp_path: Path) -> Path:
    return tmp_path / "switchboard.db"  # where ServiceProcess keeps it


def client_env(service: ServiceProcess, tmp_path: Path) -> dict[str, str]:
    """Nothing from the developer's shell or config: the service's URL, its database for the
    local commands (`keys`), and an empty config directory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SWITCHBOARD_", "OPENAI_"))}
    return env | {
        "SWITCHBOARD_URL": service.url,
        "SWITCHBOARD_DATABASE_URL": f"sqlite:///{database_of(tmp_path)}",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "NO_COLOR": "1",
    }


@pytest.fixture
def cli(
    served: ServiceProcess,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Cli:
    """`switchboard ARGS` as the holder of `key` (the demo customer's when None)."""
    for name in os.environ.keys() - client_env(served, tmp_path).keys():
        monkeypatch.delenv(name)
    for name, value in client_env(served, tmp_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)

    def run(*args: str, key: str | None = None) -> Result:
        if key is None:
            monkeypatch.delenv("SWITCHBOARD_API_KEY", raising=False)
        else:
            monkeypatch.setenv("SWITCHBOARD_API_KEY", key)
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse refusing the arguments
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return run
