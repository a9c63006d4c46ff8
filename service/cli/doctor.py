"""`switchboard doctor`: is everything this machine's settings name there and working? One line
per check, `ok` or `FAIL` with a plain sentence on what is wrong and how to fix it; exit code 1
when anything fails.

The model endpoint (core/settings.py's model section: base URL, key, the model of every bot after
SWITCHBOARD_MODEL__NAME and the per-bot SWITCHBOARD_MODEL__BOTS): reachable and accepting the key,
each model name served (when the endpoint lists its models), a tool-calling request answered with
a tool call, a streamed reply. Then the service the CLI talks to (reachable, the key accepted) and
the database URL (answers a query)."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Generator, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from core.bots import DEMO_MODEL, BotRegistry
from core.errors import StoreUnavailable
from core.settings import ModelSettings, Settings
from core.store.context import ContextStore
from service.cli.client import Client, ServiceError
from service.cli.config import resolve
from service.cli.output import dumps, paint
from service.cli.serve import safe_url

PROBE_TOOL = "switchboard_doctor_probe"
PROBE_PROMPT = f"This is a connectivity test. Call the {PROBE_TOOL} tool once, with no arguments."
_PROBE_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": PROBE_TOOL,
            "description": "Confirms that tool calling works. Takes no arguments.",
            "parameters": {"type": "object", "properties": {}},
        },
    }
]
_URL_VARS = "OPENAI_BASE_URL (or SWITCHBOARD_MODEL__BASE_URL)"
_KEY_VARS = "OPENAI_API_KEY (or SWITCHBOARD_MODEL__API_KEY)"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def doctor(args: argparse.Namespace) -> int:
    settings = Settings()
    if args.model:
        settings.model.name = args.model
    checks: list[Check] = []
    for check in _all_checks(settings, args):
        checks.append(check)
        if not args.json:
            mark = paint("ok  ", "green") if check.ok else paint("FAIL", "red")
            print(f"{mark}  {check.name:<30} {' '.join(check.detail.split())}", flush=True)
    if args.json:
        print(dumps([asdict(c) for c in checks]))
    return 0 if all(c.ok for c in checks) else 1


def _all_checks(settings: Settings, args: argparse.Namespace) -> Iterator[Check]:
    yield from model_checks(settings, args.timeout)
    yield from service_checks(args.url, args.key, args.timeout)
    yield database_check(settings.database_url, args.timeout)


# --- the model endpoint ------------------------------------------------------------------------


def model_checks(settings: Settings, timeout_s: float) -> Iterator[Check]:
    section = settings.model_section()
    if section.base_url is None:
        yield Check(
            "model endpoint",
            True,
            f"none configured: the bots answer with the offline demo model. For a real one set {_URL_VARS}, "
            "SWITCHBOARD_MODEL__NAME and, if it needs one, " + _KEY_VARS,
        )
        return
    try:
        models = bot_models(settings, section)
    except ValueError as exc:  # a per-bot model for a bot that does not exist
        yield Check("model names", False, f"SWITCHBOARD_MODEL__BOTS: {exc}")
        return
    base = section.base_url.rstrip("/")
    key = section.api_key.get_secret_value() if section.api_key else None
    with httpx.Client(base_url=base, headers=_auth(key), timeout=timeout_s) as http:
        reached, listed = yield from _endpoint(http, base, key)
        if not reached:
            return
        yield from _names(models, listed, base)
        for model in sorted(models):
            yield _tool_call(http, model)
            yield _streaming(http, model)


def bot_models(settings: Settings, section: ModelSettings) -> dict[str, list[str]]:
    """Each model name the bots will ask for, with the bots that ask for it."""
    bots = BotRegistry.load(settings.bots).with_models(section.name, section.bots)
    models: dict[str, list[str]] = {}
    for bot in bots:
        models.setdefault(bot.model, []).append(bot.name)
    return models


def _endpoint(
    http: httpx.Client, base: str, key: str | None
) -> Generator[Check, None, tuple[bool, list[str] | None]]:
    """Yields the endpoint's check; returns (reached, the model ids it lists or None)."""
    try:
        response = http.get("/models")
    except httpx.HTTPError as exc:
        yield Check(
            "model endpoint",
            False,
            f"cannot connect to {base} ({_why(exc)}): is the model server running, and is {_URL_VARS} right?",
        )
        return False, None
    if response.status_code in (401, 403):
        what = "refused the API key" if key else "wants an API key"
        yield Check("model endpoint", False, f"{base} {what} (HTTP {response.status_code}): set {_KEY_VARS}")
        return False, None
    listed = _model_ids(response)
    if listed is None and response.status_code == 404 and not base.endswith("/v1"):
        yield Check(
            "model endpoint",
            False,
            f"{base} answers 404 for /models: OpenAI-compatible servers usually want the /v1 suffix "
            f"({base}/v1) in {_URL_VARS}",
        )
        return False, None
    shown = f"lists {len(listed)} model(s)" if listed is not None else "does not list its models"
    yield Check("model endpoint", True, f"{base} answers ({shown})")
    return True, listed


def _names(models: dict[str, list[str]], listed: list[str] | None, base: str) -> Iterator[Check]:
    for model, bots in sorted(models.items()):
        who = f"(bots: {', '.join(bots)})"
        if model == DEMO_MODEL and (listed is None or model not in listed):
            yield Check(
                "model name",
                False,
                f"no model chosen: {', '.join(bots)} would ask {base} for the offline demo's "
                f"'{DEMO_MODEL}'; set SWITCHBOARD_MODEL__NAME (or serve --model) to a model it serves",
            )
        elif listed is None:
            yield Check(
                "model name", True, f"'{model}' {who}: not checked, the endpoint does not list models"
            )
        elif model in listed:
            yield Check("model name", True, f"'{model}' is served {who}")
        else:
            offered = ", ".join(sorted(listed)[:12]) or "none"
            yield Check(
                "model name",
                False,
                f"{base} does not serve '{model}' {who}; it offers: {offered}. Set SWITCHBOARD_MODEL__NAME "
                "(or SWITCHBOARD_MODEL__BOTS for one bot) to one of them",
            )


def _tool_call(http: httpx.Client, model: str) -> Check:
    name = f"tool calling ({model})"
    body = {
        "model": model,
        "messages": [{"role": "user", "content": PROBE_PROMPT}],
        "tools": _PROBE_TOOLS,
        "max_tokens": 64,
    }
    started = time.monotonic()
    try:
        response = http.post("/chat/completions", json=body)
    except httpx.HTTPError as exc:
        return Check(name, False, f"the request failed ({_why(exc)})")
    if response.status_code >= 400:
        return Check(
            name, False, f"{_refused(response)}: the model may not accept tools, or the name is wrong"
        )
    try:
        message = response.json()["choices"][0]["message"]
    except (ValueError, KeyError, IndexError, TypeError):
        return Check(
            name, False, "the reply is not an OpenAI chat completion: is this an OpenAI-compatible endpoint?"
        )
    calls = [c.get("function", {}).get("name") for c in message.get("tool_calls") or []]
    if PROBE_TOOL not in calls:
        return Check(
            name,
            False,
            "the model answered without calling the tool: pick a model with tool support (Ollama: e.g. "
            "llama3.1 or qwen2.5; vLLM: start it with --enable-auto-tool-choice and a --tool-call-parser)",
        )
    return Check(name, True, f"the model called the tool ({(time.monotonic() - started) * 1000:.0f} ms)")


def _streaming(http: httpx.Client, model: str) -> Check:
    name = f"streaming ({model})"
    body = {
        "model": model,
        "messages": [{"role": "user", "content": "Say OK."}],
        "stream": True,
        "max_tokens": 16,
    }
    chunks, done = 0, False
    try:
        with http.stream("POST", "/chat/completions", json=body) as response:
            if response.status_code >= 400:
                response.read()
                return Check(name, False, f"{_refused(response)} to a streamed request")
            for line in response.iter_lines():
                data = line.removeprefix("data:").strip() if line.startswith("data:") else None
                if data == "[DONE]":
                    done = True
                elif data:
                    chunks += 1 if "choices" in json.loads(data) else 0
    except (httpx.HTTPError, ValueError) as exc:
        return Check(name, False, f"the stream broke ({_why(exc)})")
    if not chunks or not done:
        return Check(
            name, False, "the reply was not a complete event stream: a proxy may be buffering or cutting it"
        )
    return Check(name, True, f"{chunks} chunk(s), then [DONE]")


def _model_ids(response: httpx.Response) -> list[str] | None:
    if response.status_code != 200:
        return None
    try:
        return [str(m["id"]) for m in response.json()["data"]]
    except (ValueError, KeyError, TypeError):
        return None


def _auth(key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"} if key else {}


def _refused(response: httpx.Response) -> str:
    try:
        error = response.json().get("error")
        said = error.get("message") if isinstance(error, dict) else error
    except (ValueError, AttributeError):
        said = None
    return f"HTTP {response.status_code}" + (f" ({str(said)[:160]})" if said else "")


def _why(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


# --- the service and the database --------------------------------------------------------------


def service_checks(url: str | None, key: str | None, timeout_s: float) -> Iterator[Check]:
    connection = resolve(url, key)
    client = Client(connection, timeout_s=timeout_s)
    try:
        client.get("/healthz")
    except ServiceError as exc:
        yield Check("service", False, exc.message)
        return
    yield Check("service", True, f"{connection.url} answers")
    try:
        client.get("/v1/bots")
    except ServiceError as exc:
        yield Check("API key", False, exc.message)
        return
    source = (
        "the offline demo's key"
        if connection.key_source == "demo"
        else f"the key from {connection.key_source}"
    )
    yield Check("API key", True, f"{source} is accepted")


def database_check(url: str, timeout_s: float) -> Check:
    shown = safe_url(url)
    if url.startswith("sqlite:///") and ":memory:" not in url:
        path = Path(url.removeprefix("sqlite:///").split("?")[0])
        if not path.exists():
            return Check(
                "database", True, f"{shown} does not exist yet: `switchboard serve` or `migrate` creates it"
            )
    try:
        asyncio.run(_ping(url, timeout_s))
    except StoreUnavailable as exc:
        return Check("database", False, f"{exc.message}: check SWITCHBOARD_DATABASE_URL ({shown})")
    except TimeoutError:
        return Check("database", False, f"{shown} did not answer in {timeout_s:g} s")
    except Exception as exc:  # a malformed URL, a missing driver: said plainly, not as a traceback
        return Check("database", False, f"cannot open {shown}: {_why(exc)}; check SWITCHBOARD_DATABASE_URL")
    return Check("database", True, f"{shown} answers")


async def _ping(url: str, timeout_s: float) -> None:
    store = ContextStore.open(url)
    try:
        await store.db.ping(timeout_s)
    finally:
        await store.close()
