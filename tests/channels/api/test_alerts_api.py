"""/v1/alerts: list, read, acknowledge, silence, investigate; scoped to the caller's tenant,
decided by the core's alert desk and audited (refusals too)."""

from __future__ import annotations

import math
import time
from datetime import datetime
from typing import Any

import httpx
import pytest

from core.alerts.desk import AlertDesk
from core.errors import InvalidInput
from core.store.alerts import AlertStore
from core.store.context import ContextStore
from tests.channels.api.alerts import raise_alert
from tests.channels.api.conftest import Api, auth


async def post(api: Api, path: str, key: str, **kwargs: Any) -> httpx.Response:
    return await api.client.post(path, headers=auth(key), **kwargs)


async def audit_actions(api: Api) -> list[tuple[str, str | None, dict[str, Any]]]:
    entries = (await api.client.get("/v1/audit", headers=auth(api.keys.admin))).json()["entries"]
    return [
        (e["action"], e["actor_user_id"], e["detail"]) for e in entries if e["action"].startswith("alert.")
    ]


async def test_members_list_and_read_their_tenants_alerts_only(api: Api, store: ContextStore) -> None:
    alert = await raise_alert(store, api.tenant.id, api.tenant.admin.user_id)
    listed = await api.client.get("/v1/alerts", headers=auth(api.keys.member))
    assert listed.status_code == 200, listed.text
    [view] = listed.json()["alerts"]
    assert view["id"] == alert.id and view["status"] == "open" and view["value"] == 910.0
    assert view["target"] == {"surface": "test", "channel": "C1"} and view["acked_by"] is None
    one = await api.client.get(f"/v1/alerts/{alert.id}", headers=auth(api.keys.other_member))
    assert one.status_code == 200 and one.json() == view

    for status, expected in (
        ("open", [alert.id]),
        ("resolved", []),
        ("all", [alert.id]),
        ("live", [alert.id]),
    ):
        found = await api.client.get("/v1/alerts", params={"status": status}, headers=auth(api.keys.member))
        assert [a["id"] for a in found.json()["alerts"]] == expected, status

    stranger = auth(api.keys.stranger)
    assert (await api.client.get("/v1/alerts", headers=stranger)).json() == {"alerts": []}
    assert (await api.client.get(f"/v1/alerts/{alert.id}", headers=stranger)).status_code == 404
    for action, body in (("acknowledge", None), ("silence", {}), ("investigate", None)):
        refused = await post(api, f"/v1/alerts/{alert.id}/{action}", api.keys.stranger, json=body)
        assert refused.status_code == 404 and refused.json()["error"]["code"] == "not_found", action
    unknown = await api.client.get("/v1/alerts/alr_nope", headers=auth(api.keys.member))
    assert unknown.status_code == 404 and "no alert alr_nope" in unknown.text
    assert (await post(api, "/v1/alerts/alr_nope/acknowledge", api.keys.member)).status_code == 404
    assert (await api.client.get("/v1/alerts")).status_code == 401
    assert (await api.client.get(f"/v1/alerts/{alert.id}")).status_code == 401


async def test_bad_queries_and_bodies_are_refused_with_reasons(api: Api, store: ContextStore) -> None:
    alert = await raise_alert(store, api.tenant.id, api.tenant.admin.user_id)
    member = auth(api.keys.member)
    bad_status = await api.client.get("/v1/alerts", params={"status": "sleeping"}, headers=member)
    assert bad_status.status_code == 422 and "query.status" in bad_status.text
    bad_limit = await api.client.get("/v1/alerts", params={"limit": "0"}, headers=member)
    assert bad_limit.status_code == 422 and "query.limit" in bad_limit.text

    silence = f"/v1/alerts/{alert.id}/silence"
    cases = [
        ({"duration_s": 30}, "body.duration_s: Input should be greater than or equal to 60"),
        ({"duration_s": "soon"}, "body.duration_s: Input should be a valid number"),
        ({"duration_s": 10**9}, "body.duration_s: Input should be less than or equal to"),
        ({"for": 3600}, "body.for: Extra inputs are not permitted"),
    ]
    for body, reason in cases:
        refused = await post(api, silence, api.keys.admin, json=body)
        assert refused.status_code == 422 and reason in refused.json()["error"]["message"], refused.text
    malformed = await post(api, silence, api.keys.admin, content=b"{not json")
    assert malformed.status_code == 400 and malformed.json()["error"]["code"] == "malformed_json"
    assert (await api.client.get(f"/v1/alerts/{alert.id}", headers=member)).json()["status"] == "open"


async def test_acknowledge_then_silence_as_the_desk_allows_and_every_step_is_audited(
    api: Api, store: ContextStore
) -> None:
    alert = await raise_alert(store, api.tenant.id, api.tenant.other_member.user_id)  # other_member owns it
    acked = await post(api, f"/v1/alerts/{alert.id}/acknowledge", api.keys.member)
    assert acked.status_code == 200, acked.text
    assert acked.json()["status"] == "acknowledged" and acked.json()["acked_by"] == api.tenant.member.user_id
    again = await post(api, f"/v1/alerts/{alert.id}/acknowledge", api.keys.other_member)
    assert again.status_code == 409 and again.json()["error"]["code"] == "illegal_transition"

    refused = await post(api, f"/v1/alerts/{alert.id}/silence", api.keys.member, json={})
    assert refused.status_code == 403
    assert "Only an admin or the owner of this check" in refused.json()["error"]["message"]
    before = time.time()
    silenced = await post(
        api, f"/v1/alerts/{alert.id}/silence", api.keys.other_member, json={"duration_s": 7200}
    )
    assert silenced.status_code == 200, silenced.text
    view = silenced.json()
    assert view["status"] == "silenced" and view["silenced_by"] == api.tenant.other_member.user_id
    until = datetime.fromisoformat(view["silenced_until"]).timestamp()
    assert before + 7200 - 5 <= until <= time.time() + 7200 + 5

    actions = await audit_actions(api)
    assert [(a, who) for a, who, _ in actions] == [
        ("alert.opened", None),
        ("alert.acknowledged", api.tenant.member.user_id),
        ("alert.refused", api.tenant.other_member.user_id),
        ("alert.refused", api.tenant.member.user_id),
        ("alert.silenced", api.tenant.other_member.user_id),
    ]
    refusals = [d for a, _, d in actions if a == "alert.refused"]
    assert refusals[0] == {"alert_id": alert.id, "action": "acknowledge", "reason": "illegal_transition"}
    assert refusals[1] == {"alert_id": alert.id, "action": "silence", "reason": "forbidden"}


async def test_investigate_starts_one_run_that_the_callers_session_continues(
    api: Api, store: ContextStore
) -> None:
    alert = await raise_alert(store, api.tenant.id, api.tenant.admin.user_id)
    started = await post(api, f"/v1/alerts/{alert.id}/investigate", api.keys.member)
    assert started.status_code == 202, started.text
    body = started.json()
    run = body["run"]
    assert body["alert"]["investigation_run_id"] == run["id"] and body["session"] == f"alert-{alert.id}"
    assert run["bot"] == "support" and run["user_id"] == api.tenant.member.user_id
    assert started.headers["location"] == f"/v1/runs/{run['id']}"
    done = await api.engine.runtime.wait(api.tenant.member, run["id"], 10)
    assert done.answer == "hello from support"
    message = await api.client.get(f"/v1/runs/{run['id']}/message", headers=auth(api.keys.member))
    assert message.json()["content"].startswith(f"Investigate alert {alert.id}: Checkout latency.")

    second = await post(api, f"/v1/alerts/{alert.id}/investigate", api.keys.other_member)
    assert second.status_code == 403 and "already under way" in second.json()["error"]["message"]
    follow_up = await api.submit(api.keys.member, "and now?", session=body["session"])
    assert follow_up["session_id"] == run["session_id"]  # the same conversation
    assert ("alert.investigated", api.tenant.member.user_id) in [
        (a, w) for a, w, _ in await audit_actions(api)
    ]


async def test_non_finite_silences_are_refused(api: Api, store: ContextStore) -> None:
    alert = await raise_alert(store, api.tenant.id, api.tenant.admin.user_id)
    silence = f"/v1/alerts/{alert.id}/silence"
    headers = {**auth(api.keys.admin), "content-type": "application/json"}
    for number in (b"NaN", b"Infinity", b"-Infinity", b"1e400"):
        body = b'{"duration_s": ' + number + b"}"
        refused = await api.client.post(silence, content=body, headers=headers)
        assert refused.status_code == 422, (number, refused.text)
    desk = AlertDesk(api.engine.runtime, AlertStore(store.db, store.clock, {}), store.audit)
    for for_s in (math.nan, math.inf, 1e300, -1.0):
        with pytest.raises(InvalidInput):
            await desk.silence(api.tenant.admin, alert.id, for_s)
    assert (await api.client.get(f"/v1/alerts/{alert.id}", headers=auth(api.keys.admin))).json()[
        "status"
    ] == "open"
