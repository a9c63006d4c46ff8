"""The CLI's HTTP client of the REST API (channels/api), on the standard library: `urllib`
imports in 20 ms where httpx takes 100 ms, and the client needs one request at a time.

Errors are one small tree, each with the exit code the CLI returns for it:

    ServiceError            the service said no, or could not be asked
    ├── Unreachable         connection refused, DNS, timeout            exit 5
    └── (by HTTP status)    401/403/404/409/4xx: misuse                 exit 2
                            429 after retries, 503: unavailable         exit 5
                            5xx: the service failed                     exit 1
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from service.cli.config import Connection

USER_AGENT = "switchboard-cli"
_RETRIES_429 = 3
_MAX_RETRY_AFTER_S = 10.0


class ServiceError(Exception):
    def __init__(self, message: str, exit_code: int, *, status: int | None = None, code: str = "") -> None:
        super().__init__(message)
        self.message, self.exit_code, self.status, self.code = message, exit_code, status, code


class Unreachable(ServiceError):
    pass


@dataclass(frozen=True)
class Event:
    seq: int
    type: str
    data: dict[str, Any]


class Client:
    def __init__(self, connection: Connection, *, timeout_s: float = 30.0) -> None:
        self.connection = connection
        self._timeout_s = timeout_s

    @property
    def url(self) -> str:
        return self.connection.url

    def get(self, path: str, query: Mapping[str, Any] | None = None) -> Any:
        return self.request("GET", path, query=query)

    def post(self, path: str, body: Mapping[str, Any] | None = None) -> Any:
        return self.request("POST", path, body=body or {})

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        query: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        for attempt in range(_RETRIES_429 + 1):
            try:
                with self._open(method, path, body, query, headers, self._timeout_s) as response:
                    raw = response.read()
                return json.loads(raw) if raw else None
            except urllib.error.HTTPError as exc:
                wait = _retry_after(exc)
                if exc.code != 429 or wait is None or attempt == _RETRIES_429:
                    raise self._refusal(exc) from None
                time.sleep(wait)  # the service sheds load: wait as it asks, then try again
        raise AssertionError("unreachable")  # pragma: no cover

    def events(self, run_id: str, *, after: int, wait_s: float, until: float) -> Iterator[Event]:
        """A run's events from the SSE stream, after `after`, until the stream closes, nothing
        arrives for `wait_s` (the service sends a keepalive every 15 s while a run works), or
        `time.monotonic()` passes `until`."""
        events = path("runs", run_id, "events")
        accept = {"Accept": "text/event-stream"}
        try:
            with self._open("GET", events, None, {"after": after}, accept, wait_s) as response:
                yield from _parse_sse(response, until)
        except urllib.error.HTTPError as exc:
            raise self._refusal(exc) from None
        except TimeoutError:
            return

    def _open(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None,
        query: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        timeout_s: float,
    ) -> Any:
        url = self.url + path
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.connection.key}")
        request.add_header("User-Agent", USER_AGENT)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            return urllib.request.urlopen(request, timeout=timeout_s)  # noqa: S310 - the user's URL
        except urllib.error.HTTPError:
            raise
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise Unreachable(self._unreachable(exc), 5) from None

    def _unreachable(self, exc: Exception) -> str:
        reason = getattr(exc, "reason", exc)
        why = getattr(reason, "strerror", None) or str(reason) or type(reason).__name__
        return (
            f"cannot reach the Switchboard service at {self.url} ({why}). Start it with "
            "`switchboard serve`, or point the CLI at it with --url, SWITCHBOARD_URL or "
            "`switchboard login`; `--local` runs the command on a local database instead."
        )

    def _refusal(self, exc: urllib.error.HTTPError) -> ServiceError:
        status = exc.code
        try:
            error = json.loads(exc.read() or b"{}").get("error") or {}
        except (ValueError, AttributeError, OSError):
            error = {}
        code, message = str(error.get("code", "")), str(error.get("message", ""))
        if not message:
            message = f"the service at {self.url} answered HTTP {status} (is --url pointing at Switchboard?)"
        if status == 401:
            source = self.connection.key_source
            if source == "demo":
                hint = (
                    "no API key is configured: run `switchboard login`, or set SWITCHBOARD_API_KEY or --key"
                )
            elif source in ("--key", "SWITCHBOARD_API_KEY"):
                hint = f"the key in {source} was refused: check it, or make one with `switchboard keys`"
            else:
                hint = f"the key saved in {source} was refused: run `switchboard login` again"
            message = f"{message} ({hint})"
        return ServiceError(message, _exit_code(status), status=status, code=code)


def _exit_code(status: int) -> int:
    if status in (429, 502, 503, 504):
        return 5
    return 2 if 400 <= status < 500 else 1


def _retry_after(exc: urllib.error.HTTPError) -> float | None:
    try:
        return min(float(exc.headers.get("Retry-After", "1")), _MAX_RETRY_AFTER_S)
    except ValueError:
        return None


def _parse_sse(stream: Any, until: float) -> Iterator[Event]:
    fields: dict[str, str] = {}
    for raw in stream:
        if time.monotonic() > until:  # keepalives keep a stream alive past any read timeout
            return
        line = raw.decode("utf-8").rstrip("\r\n")
        if line.startswith(":"):
            continue
        if line:
            name, _, value = line.partition(":")
            fields[name] = fields.get(name, "") + value.removeprefix(" ")
            continue
        if "data" in fields and fields.get("event") != "delta":  # deltas: the model's live text, no seq
            data = json.loads(fields["data"])
            if fields.get("event") == "error":
                error = data.get("error") or {}
                raise ServiceError(str(error.get("message", "the event stream broke")), 5, code="stream")
            yield Event(int(fields.get("id", "0")), fields.get("event", ""), data)
        fields = {}


def _quote(segment: str) -> str:
    return urllib.parse.quote(segment, safe="")


def path(*segments: str) -> str:
    """`/v1/…` with each id quoted: an id typed by a person cannot change the route."""
    return "/v1/" + "/".join(_quote(s) for s in segments)
