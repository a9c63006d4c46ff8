"""`manifests/slack.yaml` is what a user pastes into Slack: it must parse, ask for exactly the
scopes the code uses (each event the manifest subscribes to and each Web API method
`channels/slack` calls needs one), declare the features its scopes are for, point every URL at
the `YOUR-HOST` placeholder the README tells people to replace, and name only files that exist."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.applications import Starlette
from starlette.testclient import TestClient

from channels.slack.setup import setup_routes

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "manifests" / "slack.yaml"
SLACK_CODE = sorted((ROOT / "channels" / "slack").glob("*.py"))

# The bot scope each subscribed event needs (https://docs.slack.dev/reference/events).
EVENT_SCOPES = {
    "app_mention": "app_mentions:read",
    "message.im": "im:history",
    "message.channels": "channels:history",
    "message.groups": "groups:history",
    "message.mpim": "mpim:history",
}
# The bot scope each Web API method needs (None: no scope); a method missing here fails the test,
# so a new call is a decision about the manifest.
METHOD_SCOPES: dict[str, str | None] = {
    "auth.test": None,
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.postEphemeral": "chat:write",
    "chat.delete": "chat:write",
    "conversations.open": "im:write",
    "views.open": None,
    "views.update": None,
    "usergroups.users.list": "usergroups:read",
    "users.info": "users:read",
    "reactions.add": "reactions:write",
    "assistant.threads.setStatus": "assistant:write",
}
_FAMILIES = "assistant|auth|chat|conversations|files|pins|reactions|usergroups|users|views"
_METHOD_NAME = re.compile(rf'"((?:{_FAMILIES})\.[A-Za-z.]+)"')
_CLIENT_CALL = re.compile(rf"client\.((?:{_FAMILIES})_[A-Za-z_]+)\(")
_TOP_LEVEL = {"_metadata", "display_information", "features", "oauth_config", "settings", "functions"}


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    found = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(found, dict)
    return found


def methods_called() -> set[str]:
    """The Web API methods `channels/slack` calls: by name (`api_call("chat.update", …)`) or
    through the SDK's methods (`client.views_open(…)` is `views.open`)."""
    found: set[str] = set()
    for path in SLACK_CODE:
        source = path.read_text(encoding="utf-8")
        found |= set(_METHOD_NAME.findall(source))
        found |= {name.replace("_", ".") for name in _CLIENT_CALL.findall(source)}
    return found


def strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value)


def test_the_manifest_has_slacks_structure(manifest: dict[str, Any]) -> None:
    assert set(manifest) <= _TOP_LEVEL, set(manifest) - _TOP_LEVEL
    info = manifest["display_information"]
    assert 0 < len(info["name"]) <= 35 and len(info.get("description", "")) <= 140
    assert re.fullmatch(r"#[0-9a-fA-F]{6}", info["background_color"])
    features = manifest["features"]
    assert features["bot_user"]["display_name"]  # bot scopes need a bot user
    assert features["app_home"]["messages_tab_enabled"] is True  # people write to it in DMs
    settings = manifest["settings"]
    assert settings["socket_mode_enabled"] is False  # Slack calls in over HTTPS
    assert settings["interactivity"]["is_enabled"] is True  # the approval and question buttons


def test_every_scope_is_used_and_every_use_has_its_scope(manifest: dict[str, Any]) -> None:
    scopes = manifest["oauth_config"]["scopes"]["bot"]
    assert len(scopes) == len(set(scopes)), "a scope is listed twice"
    assert "user" not in manifest["oauth_config"]["scopes"]  # the app never acts as a person
    events = manifest["settings"]["event_subscriptions"]["bot_events"]
    unknown = methods_called() - set(METHOD_SCOPES)
    assert not unknown, f"add the scopes of {sorted(unknown)} to METHOD_SCOPES and the manifest"
    needed = {EVENT_SCOPES[event] for event in events}
    needed |= {scope for method in methods_called() if (scope := METHOD_SCOPES[method]) is not None}
    assert set(scopes) == needed, {"unused": set(scopes) - needed, "missing": needed - set(scopes)}


def test_the_assistant_scope_comes_with_the_assistant_view(manifest: dict[str, Any]) -> None:
    scopes = manifest["oauth_config"]["scopes"]["bot"]
    view = manifest["features"].get("assistant_view")
    assert ("assistant:write" in scopes) == (view is not None)
    if view is not None:
        assert isinstance(view["assistant_description"], str) and view["assistant_description"]


def test_every_url_is_on_the_your_host_placeholder(manifest: dict[str, Any]) -> None:
    urls = [s for s in strings(manifest) if "://" in s]
    assert urls, "the manifest names no request URL"
    for url in urls:
        assert url.startswith("https://YOUR-HOST/"), url
    settings = manifest["settings"]
    assert settings["event_subscriptions"]["request_url"] == "https://YOUR-HOST/slack/events"
    assert settings["interactivity"]["request_url"] == "https://YOUR-HOST/slack/events"


def test_the_request_url_is_answered_before_slack_is_configured() -> None:
    """Slack checks the URL when the manifest is pasted: the route `serve` mounts then answers."""
    with TestClient(Starlette(routes=list(setup_routes()))) as client:
        response = client.post("/slack/events", json={"type": "url_verification", "challenge": "c0ffee"})
    assert response.status_code == 200 and response.json() == {"challenge": "c0ffee"}


def test_the_files_its_comments_name_exist() -> None:
    comments = [line for line in MANIFEST.read_text(encoding="utf-8").splitlines() if "#" in line]
    named = {m for line in comments for m in re.findall(r"[\w./-]+\.(?:md|py|yaml|json)\b", line)}
    assert named, "the header names the README section to follow"
    missing = sorted(name for name in named if not (ROOT / name).exists())
    assert not missing, missing
