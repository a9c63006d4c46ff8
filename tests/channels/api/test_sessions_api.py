"""`/v1/me` and the caller's own sessions, on a real store (SQLite and PostgreSQL) and engine:
listed newest first a page at a time, resumable by their key, and nobody else's to read."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from core.runtime import Submission
from tests.channels.api.conftest import Api, auth
from tests.channels.api.test_api import poll

Json = dict[str, Any]


async def get(api: Api, key: str, path: str, status: int = 200, **params: Any) -> Json:
    response = await api.client.get(path, headers=auth(key), params=params)
    assert response.status_code == status, response.text
    body: Json = response.json()
    return body


async def talk(api: Api, key: str, message: str, session: str) -> Json:
    run = await api.submit(key, message, session=session)
    return await poll(api, key, run["id"])


async def test_me_names_the_user_and_the_tenant(api: Api) -> None:
    me = await get(api, api.keys.member, "/v1/me")
    assert me == {
        "user_id": api.tenant.member.user_id,
        "name": "alice",
        "role": "member",
        "tenant_id": api.tenant.id,
        "tenant_name": "acme",
    }
    assert (await get(api, api.keys.admin, "/v1/me"))["role"] == "admin"
    refused = await get(api, "not-a-key", "/v1/me", 401)
    assert refused["error"]["code"] == "unauthorized"


async def test_a_users_sessions_are_listed_newest_first_and_resumable(api: Api) -> None:
    key = api.keys.member
    first = await talk(api, key, "where is order 42?", "s-one")
    await talk(api, key, "and order 43?", "s-two")
    again = await talk(api, key, "one more about 42", "s-one")  # s-one is the latest now
    await talk(api, api.keys.other_member, "bob's own", "s-one")  # bob's s-one is his alone

    listed = (await get(api, key, "/v1/sessions"))["sessions"]
    assert [s["key"] for s in listed] == ["s-one", "s-two"]
    one = listed[0]
    assert one["id"] == first["session_id"] == again["session_id"]
    assert one["title"] == "where is order 42?" and one["runs"] == 2 and one["bot"] == "support"
    assert one["last_run_id"] == again["id"] and one["surface"] == "api"
    assert await get(api, key, f"/v1/sessions/{one['id']}") == one

    messages = (await get(api, key, f"/v1/sessions/{one['id']}/messages"))["messages"]
    assert [(m["role"], m["content"]) for m in messages] == [
        ("user", "where is order 42?"),
        ("assistant", "hello from support"),
        ("user", "one more about 42"),
        ("assistant", "hello from support"),
    ]
    assert {m["run_id"] for m in messages} == {first["id"], again["id"]}


async def test_sessions_come_a_page_at_a_time(api: Api) -> None:
    key = api.keys.member
    for n in range(5):
        await talk(api, key, f"message {n}", f"page-{n}")
    seen: list[str] = []
    cursor = None
    for _ in range(5):  # bounded: 5 sessions, 2 a page
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = await get(api, key, "/v1/sessions", **params)
        seen += [s["key"] for s in page["sessions"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"page-{n}" for n in reversed(range(5))]

    run = await talk(api, key, "a b c d e f", "many")
    session = run["session_id"]
    first = await get(api, key, f"/v1/sessions/{session}/messages", limit=1)
    assert [m["role"] for m in first["messages"]] == ["user"] and first["next_cursor"]
    rest = await get(api, key, f"/v1/sessions/{session}/messages", after=first["next_cursor"])
    assert [m["role"] for m in rest["messages"]] == ["assistant"] and rest["next_cursor"] is None


async def test_another_users_session_is_not_found_like_an_unknown_one(api: Api) -> None:
    alices = (await talk(api, api.keys.member, "private", "mine"))["session_id"]
    for key in (api.keys.other_member, api.keys.admin, api.keys.stranger):
        assert (await get(api, key, "/v1/sessions"))["sessions"] == []
        for path in (f"/v1/sessions/{alices}", f"/v1/sessions/{alices}/messages"):
            foreign = await get(api, key, path, 404)
            unknown = await get(api, key, path.replace(alices, "ses_unknown"), 404)
            assert foreign["error"]["code"] == unknown["error"]["code"] == "not_found"
            assert foreign["error"]["message"].replace(alices, "X") == unknown["error"]["message"].replace(
                "ses_unknown", "X"
            )


async def test_bad_queries_are_refused_in_the_error_shape(api: Api) -> None:
    key = api.keys.member
    for params in ({"limit": 0}, {"limit": 101}, {"limt": 5}, {"cursor": "a\tb"}):
        refused = await get(api, key, "/v1/sessions", 422, **params)
        assert refused["error"]["code"] == "invalid_input"


async def test_the_openapi_document_describes_the_session_routes(api: Api) -> None:
    document = await get(api, api.keys.member, "/openapi.json")
    for path in ("/v1/me", "/v1/sessions", "/v1/sessions/{session_id}", "/v1/sessions/{session_id}/messages"):
        assert "get" in document["paths"][path], path
    assert "next_cursor" in document["components"]["schemas"]["SessionList"]["properties"]


async def test_a_conversation_held_on_another_surface_is_listed_without_a_key(api: Api) -> None:
    who = api.tenant.member
    thread = Submission(bot="support", text="from a slack thread", surface="slack", thread_key="C1:1700.1")
    submitted = await api.engine.runtime.submit(who, thread)
    assert submitted.run is not None
    await api.engine.settle()
    # A colleague in the same thread has a run there too: alice's listing counts only hers.
    await api.engine.runtime.submit(api.tenant.other_member, replace(thread, text="bob joins"))
    await api.engine.settle()
    [listed] = (await get(api, api.keys.member, "/v1/sessions"))["sessions"]
    assert listed["surface"] == "slack" and listed["key"] is None and listed["runs"] == 1
    messages = (await get(api, api.keys.member, f"/v1/sessions/{listed['id']}/messages"))["messages"]
    assert [m["content"] for m in messages if m["role"] == "user"] == ["from a slack thread"]
    bobs = (await get(api, api.keys.other_member, "/v1/sessions"))["sessions"]
    assert [s["title"] for s in bobs] == ["bob joins"]
