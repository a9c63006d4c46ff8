"""The Teams renderer and its Markdown: pure functions, checked on their own."""

from __future__ import annotations

from channels.teams.markdown import split_markdown, to_pieces
from channels.teams.profile import conversation_key
from channels.teams.renderer import TeamsRenderer, progress
from core.events import EventType
from core.records import Run, RunEvent
from tests.channels.testbed import a_run


def teams_text(markdown: str) -> list[str]:
    return [f"```\n{p.text}\n```" if p.code else p.text for p in to_pieces(markdown)]


def test_markdown_keeps_what_teams_renders_and_converts_the_rest() -> None:
    md = (
        "# Title\n#### Small heading\n**bold** _it_ ~~gone~~ `a<b` [docs](https://x.test/a)\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n![chart](https://x.test/c.png) [bad](javascript:alert)"
    )
    assert teams_text(md) == [
        "# Title\n**Small heading**\n**bold** _it_ ~~gone~~ `a<b` [docs](https://x.test/a)",
        "```\n| a | b |\n|---|---|\n| 1 | 2 |\n```",
        "[chart](https://x.test/c.png) bad (javascript:alert)",
    ]


def test_mentions_and_markup_the_model_writes_are_neutralised() -> None:
    [text] = teams_text('Ping <at>Everyone</at> and @channel, @team <img src=x onerror="y">')
    assert "<" not in text and ">" not in text
    assert "&lt;at&gt;Everyone&lt;/at&gt;" in text
    assert "@\u200bchannel" in text and "@\u200bteam" in text
    assert teams_text("```\n<at>code</at>\n```") == ["```\n<at>code</at>\n```"]  # code is shown verbatim


def test_splitting_loses_nothing_and_keeps_code_blocks_whole() -> None:
    code = "\n".join(f"line {i}" for i in range(30))
    md = "intro " * 100 + f"\n\n```\n{code}\n```\n\n" + "outro " * 100
    parts = split_markdown(md, 400)
    assert all(len(p) <= 400 for p in parts)
    assert " ".join(parts).split() == ("intro " * 100 + f"```\n{code}\n```" + " outro" * 100).split()
    assert [p for p in parts if "line 0" in p][0].count("```") == 2


def test_tool_progress_reads_like_a_sentence() -> None:
    assert progress("lookup_order") == "🔍 Looking up order…"
    assert progress("frobnicate") == "🔍 Running `frobnicate`…"


def test_conversation_keys_name_a_thread_and_stay_short() -> None:
    assert conversation_key("19:a@thread.tacv2;messageid=5", "5") == "19:a@thread.tacv2;messageid=5"
    assert conversation_key("a:personal", None) == "a:personal"
    long = conversation_key("a:" + "x" * 400, None)
    assert long.startswith("sha256:") and len(long) <= 300


def _run() -> Run:
    return a_run("teams-t", "teams", "a:personal", user_id="usr_1", step=0, event_seq=2, answer="hi")


def test_a_run_renders_typing_progress_answer_and_done() -> None:
    renderer = TeamsRenderer()
    run = _run()
    events = [
        RunEvent(run.id, 1, EventType.RUN_CREATED, {}, 0.0),
        RunEvent(run.id, 2, EventType.RUN_COMPLETED, {"answer": "hi"}, 1.0),
    ]
    out = renderer.render(run, events)
    assert [o.payload["op"] for o in out] == ["typing", "post", "post", "update"]
    assert all(o.target == {"conversation": "a:personal"} for o in out)
    assert out[2].payload == {"op": "post", "text": "hi", "after": "teams:run_1:status"}
    assert out[3].payload["text"] == "✅ Done" and out[3].payload["ref"] == "teams:run_1:status"


def test_an_answers_citations_become_markdown_links() -> None:
    run = _run()
    answer = (
        "Rotate the pager weekly [1].\n\n[1] Pager, https://wiki.example.test/pager\n[2] Policy, policy.pdf"
    )
    out = TeamsRenderer().render(run, [RunEvent(run.id, 2, EventType.RUN_COMPLETED, {"answer": answer}, 1.0)])
    text = out[0].payload["text"]
    assert "[Pager](https://wiki.example.test/pager)" in text and "Policy (`policy.pdf`)" in text
    assert "**Sources**" in text and "[1] Pager" not in text
