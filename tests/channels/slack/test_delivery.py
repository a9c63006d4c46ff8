"""Outbound delivery under Slack's limits and outages: delayed, never dropped, never doubled."""

from __future__ import annotations

from collections import Counter

from tests.channels.slack.conftest import SlackTestbed, mention
from tests.fakes.models import FunctionModel, Say
from tests.fakes.slack_api import FakeSlackApi

RUNS = 4


def posted_texts(api: FakeSlackApi) -> list[str]:
    return [str(c.args.get("text")) for c in api.calls("chat.postMessage", ok_only=True)]


async def test_a_429_storm_delays_every_message_and_delivers_each_once(bed: SlackTestbed) -> None:
    bed.api.fail("chat.postMessage", times=3, status=429, retry_after=1)
    roots = [f"17000010{i:02d}.000100" for i in range(RUNS)]
    for i, root in enumerate(roots):
        await bed.event(mention(f"question {i}", ts=root))

    def all_answered() -> bool:
        return all(any("You said" in m.text for m in bed.api.thread("C100", r)) for r in roots)

    await bed.settle(all_answered, timeout=30)
    await bed.settle(lambda: all("Done" in bed.api.thread("C100", r)[0].text for r in roots), timeout=10)

    texts = posted_texts(bed.api)
    assert len(texts) == 2 * RUNS  # a status message and an answer per run: none lost, none doubled
    assert Counter(t for t in texts if "You said" in t) == Counter(
        f"You said: question {i}" for i in range(RUNS)
    )
    for root in roots:
        status, answer = bed.api.thread("C100", root)  # in order: the status first, then the answer
        assert "Done" in status.text and "You said" in answer.text

    # Retry-After was honoured: once a 429 was answered, chat.postMessage stayed quiet for about
    # a second (calls already in flight at that moment may land just after it).
    calls = bed.api.calls("chat.postMessage")
    for limited in (c for c in calls if c.status == 429):
        assert not [c for c in calls if limited.at + 0.1 < c.at < limited.at + 0.9]


async def test_an_outage_delays_messages_and_loses_none(bed: SlackTestbed) -> None:
    for method in ("chat.postMessage", "chat.update"):
        bed.api.fail(method, times=6, status=503, error="service_unavailable", retry_after=None)
    await bed.event(mention("are you there?", ts="1700002000.000100"))
    await bed.settle(
        lambda: any("are you there" in m.text for m in bed.api.thread("C100", "1700002000.000100"))
    )
    await bed.settle(lambda: "Done" in bed.api.thread("C100", "1700002000.000100")[0].text)
    assert len(bed.api.thread("C100", "1700002000.000100")) == 2
    assert len(bed.api.calls("chat.postMessage", ok_only=True)) == 2


async def test_a_long_answer_arrives_whole_in_order_with_its_code_block_intact(
    database_url: str, store: object, slack_api: FakeSlackApi
) -> None:
    from tests.channels.slack.conftest import slack_service

    code = "\n".join(f"step_{i} = run({i})  # <tag> & more" for i in range(60))
    prose = " ".join(f"w{i}" for i in range(1500))
    answer = f"{prose}\n\n```python\n{code}\n```\n\nThe end."
    async with slack_service(database_url, slack_api, FunctionModel(lambda _: Say(answer))) as bed:
        slack_api.fail("chat.postMessage", times=1, status=429, retry_after=1)
        await bed.event(mention("tell me everything", ts="1700003000.000100"))
        await bed.settle(
            lambda: any("The end." in m.text for m in slack_api.thread("C100", "1700003000.000100"))
        )
    _, *parts = slack_api.thread("C100", "1700003000.000100")
    assert len(parts) >= 3 and all(len(p.text) <= 3500 for p in parts)
    joined = "\n".join(p.text for p in parts)
    assert (
        joined.split()
        == f"{prose}\n```\n{code.replace('<', '&lt;').replace('>', '&gt;').replace(' & ', ' &amp; ')}\n```\nThe end.".split()
    )
    [holder] = [p.text for p in parts if "step_0 =" in p.text]
    assert "step_59 =" in holder  # the code block moved whole into one message
