"""The text policy (core/text.py), and the core ingress that applies it for every surface."""

from __future__ import annotations

import pytest

from core.errors import InvalidInput
from core.lifecycle import RunStatus
from core.model.port import Message
from core.runtime import Submission
from core.store.context import ContextStore
from core.text import check_finite, check_identifier, check_text, clean_text, unstorable
from tests.conftest import TenantFixture
from tests.core.engine.harness import engine
from tests.fakes.models import FunctionModel, Reply, Say


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("plain", None),
        ("line\nbreak\ttab é 🙂", None),
        ("a\x00b", "a NUL character"),
        ("é\x00", "a NUL character"),
        ("a\ud800b", "a lone surrogate (invalid Unicode)"),
        ("\udfff", "a lone surrogate (invalid Unicode)"),
    ],
)
def test_unstorable_names_what_no_database_holds(value: str, problem: str | None) -> None:
    assert unstorable(value) == problem


def test_free_text_keeps_line_breaks_and_identifiers_do_not() -> None:
    assert check_text("one\ntwo") == "one\ntwo"
    with pytest.raises(InvalidInput, match="NUL"):
        check_text("one\x00two", "the message")
    assert check_identifier("usr_1:thread é") == "usr_1:thread é"
    for bad in ("a\nb", "a\x7fb", "a\x85b", "a\ud800"):
        with pytest.raises(InvalidInput, match="the key contains"):
            check_identifier(bad, "the key")


def test_clean_text_drops_nul_and_replaces_lone_surrogates() -> None:
    assert clean_text("hi\x00 there \ud800!") == "hi there \ufffd!"
    assert clean_text("\U0001f642 fine") == "\U0001f642 fine"


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_check_finite_refuses_what_json_cannot_say(value: float) -> None:
    with pytest.raises(InvalidInput, match="finite"):
        check_finite(value)


def _echo(messages: list[Message]) -> Reply:
    return Say(f"you said: {messages[-1]['content']}")


async def test_a_chat_surface_message_is_cleaned_and_its_run_completes(
    store: ContextStore, tenant: TenantFixture
) -> None:
    async with engine(store, FunctionModel(_echo)) as e:
        submitted = await e.runtime.submit(
            tenant.member, Submission(bot="support", text="stuck\x00 order \ud83d", surface="slack")
        )
        assert submitted.run is not None
        run = await e.runtime.wait(tenant.member, submitted.run.id, timeout_s=10)
    message = await store.runs.message(tenant.id, run.message_id)
    assert message.content == "stuck order \ufffd"
    assert run.status is RunStatus.COMPLETED and run.answer == "you said: stuck order \ufffd"


@pytest.mark.parametrize("field", ["thread_key", "idempotency_key", "event_id"])
async def test_a_key_with_a_control_character_is_refused_at_the_ingress(
    store: ContextStore, tenant: TenantFixture, field: str
) -> None:
    async with engine(store, FunctionModel(_echo)) as e:
        sub = Submission(bot="support", text="hi", surface="slack", **{field: "key\x00"})  # type: ignore[arg-type]
        with pytest.raises(InvalidInput, match="contains"):
            await e.runtime.submit(tenant.member, sub)
