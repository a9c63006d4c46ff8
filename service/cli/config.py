"""Where the CLI finds the service: its URL and the API key to send.

Each comes from, in order: the flag (`--url`, `--key`), the environment (`SWITCHBOARD_URL`,
`SWITCHBOARD_API_KEY`), the file `switchboard login` writes (`$XDG_CONFIG_HOME/switchboard/
config.json`, else `~/.config/switchboard/config.json`, mode 0600), and last the defaults:
`serve`'s own address and the offline demo's customer key, so the README's walk-through needs no
set-up. Read with the standard library only: the client must start in a fraction of a second
(pydantic-settings alone takes 0.4 s to import), hence no `core.settings` here.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_URL = "http://127.0.0.1:8000"
# The offline demo's customer key (service/demo.py's CUSTOMER_KEY; a test keeps them equal). It is
# public: the demo tenant exists only while no model is configured.
DEMO_KEY = "demo-customer-key"


class ConfigError(Exception):
    """The config file cannot be read or written; the message says which and why."""


@dataclass(frozen=True)
class Connection:
    url: str
    key: str
    key_source: str  # "--key", "SWITCHBOARD_API_KEY", the config file's path, or "demo"


def config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "switchboard" / "config.json"


def read_config(path: Path | None = None) -> dict[str, str]:
    path = path or config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    try:
        found = json.loads(text)
    except ValueError:
        raise ConfigError(f"{path} is not JSON: fix it or run `switchboard login` again") from None
    if not isinstance(found, dict):
        raise ConfigError(f"{path} should hold a JSON object: run `switchboard login` again")
    return {k: v for k, v in found.items() if isinstance(k, str) and isinstance(v, str)}


def write_config(url: str, key: str, path: Path | None = None) -> Path:
    """Write the file readable by its owner only; created with that mode, never widened."""
    path = path or config_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump({"url": url, "api_key": key}, out, indent=2)
            out.write("\n")
        os.chmod(path, 0o600)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror}") from None
    return path


def resolve(url: str | None, key: str | None) -> Connection:
    """The flags win, then the environment, then the config file, then the defaults."""
    saved = read_config()
    found_url = url or os.environ.get("SWITCHBOARD_URL") or saved.get("url") or DEFAULT_URL
    if key:
        return Connection(normalize_url(found_url), key, "--key")
    if env_key := os.environ.get("SWITCHBOARD_API_KEY"):
        return Connection(normalize_url(found_url), env_key, "SWITCHBOARD_API_KEY")
    if saved.get("api_key"):
        return Connection(normalize_url(found_url), saved["api_key"], str(config_path()))
    return Connection(normalize_url(found_url), DEMO_KEY, "demo")


def normalize_url(url: str) -> str:
    url = url.strip().rstrip("/")
    return url if "://" in url else f"http://{url}"


def local_key(key: str | None) -> tuple[str, str]:
    """The key for `--local`: the flag, the environment, or the demo's (not the saved key, which
    belongs to the service `login` named)."""
    if key:
        return key, "--key"
    if env_key := os.environ.get("SWITCHBOARD_API_KEY"):
        return env_key, "SWITCHBOARD_API_KEY"
    return DEMO_KEY, "demo"
