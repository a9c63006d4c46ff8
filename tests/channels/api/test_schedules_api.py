"""/v1/schedules: create, list, read, pause, resume, delete; scoped to the caller's tenant."""

from __future__ import annotations

from tests.channels.api.conftest import Api, auth

DIGEST = {
    "bot": "support",
    "prompt": "Post the ops digest",
    "cron": "0 9 * * mon-fri",
    "timezone": "Europe/Berlin",
    "target": {"surface": "slack", "channel": "C0OPS"},
}


async def test_create_list_pause_resume_delete(api: Api) -> None:
    created = await api.client.post("/v1/schedules", json=DIGEST, headers=auth(api.keys.member))
    assert created.status_code == 201, created.text
    schedule = created.json()
    assert schedule["enabled"] and schedule["cron"] == "0 9 * * mon-fri" and schedule["kind"] == "digest"
    assert schedule["target"] == {"surface": "slack", "channel": "C0OPS", "thread": None, "user": None}
    sid = schedule["id"]

    listed = await api.client.get("/v1/schedules", headers=auth(api.keys.member))
    assert [s["id"] for s in listed.json()["schedules"]] == [sid]
    paused = await api.client.post(f"/v1/schedules/{sid}/pause", headers=auth(api.keys.member))
    assert paused.status_code == 200 and paused.json()["enabled"] is False
    resumed = await api.client.post(f"/v1/schedules/{sid}/resume", headers=auth(api.keys.member))
    assert resumed.json()["enabled"] is True
    assert (await api.client.get(f"/v1/schedules/{sid}", headers=auth(api.keys.admin))).status_code == 200

    deleted = await api.client.delete(f"/v1/schedules/{sid}", headers=auth(api.keys.member))
    assert deleted.status_code == 204
    gone = await api.client.get(f"/v1/schedules/{sid}", headers=auth(api.keys.member))
    assert gone.status_code == 404


async def test_other_tenants_and_other_members_cannot_see_or_change_a_schedule(api: Api) -> None:
    sid = (await api.client.post("/v1/schedules", json=DIGEST, headers=auth(api.keys.member))).json()["id"]
    for key in (api.keys.stranger, api.keys.other_member):
        assert (await api.client.get("/v1/schedules", headers=auth(key))).json() == {"schedules": []}
        assert (await api.client.get(f"/v1/schedules/{sid}", headers=auth(key))).status_code == 404
        assert (await api.client.delete(f"/v1/schedules/{sid}", headers=auth(key))).status_code == 404
        assert (await api.client.post(f"/v1/schedules/{sid}/pause", headers=auth(key))).status_code == 404
    admin = await api.client.get("/v1/schedules", headers=auth(api.keys.admin))
    assert [s["id"] for s in admin.json()["schedules"]] == [sid]  # an admin sees the tenant's
    assert (await api.client.get(f"/v1/schedules/{sid}", headers=auth(api.keys.member))).json()["enabled"]


async def test_bad_schedules_are_refused_with_reasons(api: Api) -> None:
    cases = [
        ({**DIGEST, "cron": "61 9 * * *"}, "not valid"),
        ({**DIGEST, "timezone": "Mars/Olympus"}, "time zone"),
        ({**DIGEST, "bot": "nobody"}, "no bot named"),
        ({**DIGEST, "interval_s": 600}, "exactly one of cron or interval_s"),
        ({**DIGEST, "target": {"surface": "slack"}}, "channel or user"),
    ]
    for body, reason in cases:
        refused = await api.client.post("/v1/schedules", json=body, headers=auth(api.keys.member))
        assert refused.status_code == 422, body
        assert reason in refused.text, refused.text
    assert (await api.client.get("/v1/schedules")).status_code == 401
