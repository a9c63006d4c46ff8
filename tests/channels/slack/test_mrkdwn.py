"""Markdown → Slack mrkdwn, and long answers cut into messages without losing a word."""

from __future__ import annotations

import re

import pytest

from channels.slack.mrkdwn import escape, split_markdown, to_mrkdwn


@pytest.mark.parametrize(
    ("markdown", "mrkdwn"),
    [
        ("**bold** and __strong__", "*bold* and *strong*"),
        ("*italic* and _also_", "_italic_ and _also_"),
        ("~~gone~~", "~gone~"),
        ("# A heading", "*A heading*"),
        ("### Smaller ###", "*Smaller*"),
        ("- one\n* two\n+ three", "• one\n• two\n• three"),
        ("  - nested", "  • nested"),
        ("1. first\n2) second", "1. first\n2. second"),
        ("> quoted <b>", ">quoted &lt;b&gt;"),
        ("[the docs](https://example.com/a?b=1&c=2)", "<https://example.com/a?b=1&amp;c=2|the docs>"),
        ("[x](https://e.com/a|b)", "<https://e.com/a%7Cb|x>"),
        ("[click](javascript:alert)", "click (javascript:alert)"),
        ("`a <b> & **c**`", "`a &lt;b&gt; &amp; **c**`"),
        ("a < b && c > d", "a &lt; b &amp;&amp; c &gt; d"),
    ],
)
def test_markdown_becomes_mrkdwn(markdown: str, mrkdwn: str) -> None:
    assert to_mrkdwn(markdown) == mrkdwn


def test_nothing_from_the_model_can_ping_or_inject_markup() -> None:
    text = to_mrkdwn("@channel @HERE @everyone <!channel> <!subteam^S1> <@U123> <#C1> <https://x|y>")
    assert not re.search(r"@(channel|here|everyone)\b", text, re.IGNORECASE)
    assert "<" not in text and ">" not in text
    assert escape("@here") == "@\u200bhere"


def test_code_blocks_keep_their_content_verbatim_but_escaped() -> None:
    text = to_mrkdwn("Run this:\n```python\nif a < b:\n    print(**kw)\n```\nDone.")
    assert text == "Run this:\n\n```\nif a &lt; b:\n    print(**kw)\n```\n\nDone."


def test_an_unterminated_fence_still_holds_code() -> None:
    assert to_mrkdwn("```\nx = *y*") == "```\nx = *y*\n```"


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"\s+", text.replace("```", " ")) if w]


def test_a_long_answer_is_split_without_losing_a_word() -> None:
    paragraphs = [" ".join(f"word{p}_{i}" for i in range(120)) for p in range(12)]
    markdown = "\n\n".join(paragraphs)
    messages = split_markdown(markdown, 1000)
    assert len(messages) > 1
    assert all(len(m) <= 1000 for m in messages)
    assert _words("\n".join(messages)) == _words(markdown)


def test_a_code_block_is_never_cut_when_it_fits_in_a_message() -> None:
    code = "\n".join(f"line_{i} = {i}" for i in range(60))  # ~900 characters
    markdown = "intro " * 150 + f"\n\n```\n{code}\n```\n\n" + "outro " * 150
    messages = split_markdown(markdown, 1200)
    [holder] = [m for m in messages if "line_0 =" in m]
    assert f"```\n{code}\n```" in holder
    assert all(m.count("```") % 2 == 0 for m in messages)
    assert _words("\n".join(messages)) == _words(to_mrkdwn(markdown))


def test_a_code_block_longer_than_a_message_becomes_several_fenced_blocks() -> None:
    code = "\n".join(f"value_{i} = {'x' * 40}" for i in range(100))
    messages = split_markdown(f"```\n{code}\n```", 1000)
    assert len(messages) > 1
    for m in messages:
        assert len(m) <= 1000 and m.startswith("```\n") and m.endswith("\n```")
    assert "\n".join(m[4:-4] for m in messages) == code


def test_a_single_huge_word_is_cut_and_an_entity_or_link_is_not() -> None:
    messages = split_markdown("x" * 2500, 1000)
    assert [len(m) for m in messages] == [1000, 1000, 500]
    links = " ".join(f"[l{i}](https://example.com/{i})" for i in range(200))
    for m in split_markdown(links, 500):
        assert m.count("<") == m.count(">")


def test_a_tiny_limit_is_a_misuse() -> None:
    with pytest.raises(ValueError):
        split_markdown("hi", 10)
