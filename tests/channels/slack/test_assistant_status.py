"""Slack's assistant thread status: set beside the status message in DM threads, cleared when the
run ends, never tried in channels, and switched off for good when the app cannot use it."""

from __future__ import annotations

from channels.slack.assistant import assistant_status
from tests.channels.slack.conftest import SlackTestbed, mention, message

METHOD = "assistant.threads.setStatus"


def statuses(bed: SlackTestbed) -> list[tuple[str, str, str]]:
    return [
        (str(c.args["channel_id"]), str(c.args["thread_ts"]), str(c.args["status"]))
        for c in bed.api.calls(METHOD)
    ]


def test_status_text_reads_after_the_app_name() -> None:
    assert assistant_status(":mag: Looking up order…") == "is looking up order…"
    assert (
        assistant_status(":lock: Waiting for approval from an admin")
        == "is waiting for approval from an admin"
    )
    assert assistant_status("") == ""


async def test_a_dm_thread_shows_the_assistant_status_and_clears_it_at_the_end(bed: SlackTestbed) -> None:
    ts = "1700009000.000100"
    await bed.event(message("hello there", channel="D100", channel_type="im", ts=ts))
    await bed.settle(lambda: _answered(bed, "D100", ts))
    await bed.settle(lambda: bool(statuses(bed)) and statuses(bed)[-1][2] == "")
    shown = statuses(bed)
    assert shown[0] == ("D100", ts, "is working on it…")
    assert {(channel, thread) for channel, thread, _ in shown} == {("D100", ts)}


async def test_channel_threads_never_call_the_assistant_api(bed: SlackTestbed) -> None:
    await bed.event(mention("hello", ts="1700009100.000100"))
    await bed.settle(lambda: _answered(bed, "C100", "1700009100.000100"))
    assert statuses(bed) == []


async def test_an_app_without_the_feature_stops_asking_and_still_answers(bed: SlackTestbed) -> None:
    bed.api.fail(METHOD, times=100, status=200, error="missing_scope", retry_after=None)
    for i, ts in enumerate(("1700009200.000100", "1700009300.000100")):
        await bed.event(message(f"hi {i}", channel="D100", channel_type="im", ts=ts))
        await bed.settle(lambda ts=ts: _answered(bed, "D100", ts))
        assert any("You said" in m.text for m in bed.api.thread("D100", ts))
    assert len(bed.api.calls(METHOD)) == 1  # refused once, never asked again


def _answered(bed: SlackTestbed, channel: str, ts: str) -> bool:
    """The status message says "Done" (the outbox may not have posted it yet when the engine
    goes idle, so an empty thread is "not yet", not an error)."""
    thread = bed.api.thread(channel, ts)
    return bool(thread) and "Done" in thread[0].text
