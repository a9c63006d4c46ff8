"""Outbound delivery under Teams' limits: long answers split without losing a character or
cutting a code block, and a rate-limited connector that delays messages and never doubles them."""

from __future__ import annotations

from collections import Counter

from core.store.context import ContextStore
from tests.channels.teams.conftest import PERSONAL, TeamsTestbed, activity, teams_service
from tests.fakes.models import FunctionModel, Say
from tests.fakes.teams_connector import FakeTeamsConnector

RUNS = 3


async def test_a_429_storm_delays_every_message_and_delivers_each_once(bed: TeamsTestbed) -> None:
    fake = bed.connector
    fake.fail("send", times=3, status=429, retry_after=1)
    threads = []
    for i in range(RUNS):
        body = activity(fake, f"question {i}")
        threads.append(body["conversation"]["id"])
        assert (await bed.post(body)).status_code == 200

    def all_done() -> bool:
        return all(
            any("You said" in m.text for m in fake.conversation(t))
            and fake.conversation(t)[0].text == "✅ Done"
            for t in threads
        )

    await bed.settle(all_done, timeout=30)
    sent = [c for c in fake.calls("send", ok_only=True) if c.body.get("type") == "message"]
    assert len(sent) == 2 * RUNS  # a progress message and an answer per run: none lost, none doubled
    assert Counter(str(c.body["text"]) for c in sent if "You said" in str(c.body["text"])) == Counter(
        f"You said: question {i}" for i in range(RUNS)
    )
    for thread in threads:
        progress, answer = fake.conversation(thread)  # in order: progress first, then the answer
        assert progress.text == "✅ Done" and "You said" in answer.text

    # Retry-After was honoured: once a 429 was answered, sends stayed quiet for about a second
    # (calls already in flight at that moment may land just after it).
    calls = fake.calls("send")
    limited = [c for c in calls if c.status == 429]
    assert limited
    for refused in limited:
        assert not [c for c in calls if refused.at + 0.1 < c.at < refused.at + 0.9]


async def test_a_long_answer_arrives_whole_in_order_with_its_code_block_intact(
    database_url: str, store: ContextStore, connector: FakeTeamsConnector
) -> None:
    code = "\n".join(f"step_{i} = run({i})  # <tag> & more" for i in range(120))
    prose = " ".join(f"w{i}" for i in range(2500))
    answer = f"{prose}\n\n```python\n{code}\n```\n\nThe end."
    async with teams_service(database_url, connector, FunctionModel(lambda _: Say(answer))) as bed:
        connector.fail("send", times=1, status=429, retry_after=1)
        await bed.post(activity(connector, "tell me everything", kind="personal", mention=False))
        await bed.settle(lambda: any("The end." in m.text for m in connector.conversation(PERSONAL)))
    _, *parts = connector.conversation(PERSONAL)
    assert len(parts) >= 3 and all(len(p.text) <= 6000 for p in parts)
    assert all(len(str(c.body).encode()) < 28_000 for c in connector.calls("send"))
    joined = "\n".join(p.text for p in parts)
    assert joined.split() == f"{prose}\n```\n{code}\n```\nThe end.".split()  # code stays verbatim
    [holder] = [p.text for p in parts if "step_0 =" in p.text]
    assert "step_119 =" in holder and holder.count("```") == 2  # the code block moved whole into one message
