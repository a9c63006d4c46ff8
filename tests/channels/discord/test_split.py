"""Splitting at Discord's limit: nothing lost, code fences never broken, pings neutralised."""

from __future__ import annotations

import pytest

from channels.discord.markup import neutralise, split_markdown, to_pieces


def test_short_text_is_one_message() -> None:
    assert split_markdown("hello **there**", 2000) == ["hello **there**"]


def test_a_code_block_moves_whole_to_the_next_message() -> None:
    text = "a" * 50 + "\n\n```js\nlet x = 1;\nlet y = 2;\n```"
    assert split_markdown(text, 60) == ["a" * 50, "```js\nlet x = 1;\nlet y = 2;\n```"]


def test_a_code_block_longer_than_a_message_is_cut_between_lines_and_refenced() -> None:
    body = "\n".join(f"line {i:03d}" for i in range(40))
    parts = split_markdown(f"```py\n{body}\n```", 100)
    assert all(len(p) <= 100 and p.startswith("```py\n") and p.endswith("\n```") for p in parts)
    assert "\n".join(p[len("```py\n") : -len("\n```")] for p in parts) == body


def test_a_long_word_is_cut_anywhere_and_mentions_stay_whole() -> None:
    parts = split_markdown("x" * 130 + " <@!123456789012345678> end", 60)
    assert all(len(p) <= 60 for p in parts)
    assert "".join(parts).replace(" ", "") == "x" * 130 + "<@\u200b!123456789012345678>end"
    assert any("<@\u200b!123456789012345678>" in p for p in parts)


def test_pings_are_neutralised_in_prose_but_code_is_verbatim() -> None:
    pieces = to_pieces("@here look <@&77>\n\n```\n@everyone <@1>\n```")
    assert pieces[0].text == "@\u200bhere look <@\u200b&77>"
    assert pieces[1].code and pieces[1].text == "@everyone <@1>"
    assert neutralise("<sb-user:usr_1>") == "<sb\u200b-user:usr_1>"  # no spoofed user placeholders


def test_a_tiny_limit_is_refused() -> None:
    with pytest.raises(ValueError):
        split_markdown("text", 10)
