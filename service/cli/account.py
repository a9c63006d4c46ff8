"""`switchboard login` and `logout`: the service's URL and your API key, saved for the CLI in
its config file (service/cli/config.py), checked against the service before they are saved."""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from service.cli.client import Client
from service.cli.config import DEFAULT_URL, Connection, config_path, normalize_url, read_config, write_config


def login(args: argparse.Namespace) -> int:
    url = normalize_url(
        args.url or os.environ.get("SWITCHBOARD_URL") or read_config().get("url") or DEFAULT_URL
    )
    key = args.key or _ask_key()
    if not key:
        print(
            "error: no API key given (pass --key, pipe it on stdin, or type it when asked)", file=sys.stderr
        )
        return 2
    bots = Client(Connection(url, key, "--key"), timeout_s=10).get("/v1/bots")  # 401 or unreachable: raised
    path = write_config(url, key)
    names = ", ".join(b["name"] for b in bots.get("bots", [])) or "none"
    print(f"logged in to {url} (bots: {names})\nsaved to {path}, readable by you only")
    return 0


def logout(_: argparse.Namespace) -> int:
    path = config_path()
    try:
        path.unlink()
    except FileNotFoundError:
        print(f"not logged in ({path} does not exist)")
        return 0
    print(f"forgot the saved URL and key ({path} removed)")
    return 0


def _ask_key() -> str:
    if sys.stdin.isatty():
        return getpass.getpass("API key: ").strip()
    return sys.stdin.readline().strip()
