import asyncio
import enum
import time
from dataclasses import dataclass
from typing import Any, Literal

import pytest
from pydantic import BaseModel

from core.errors import Forbidden, ToolArgumentsInvalid, ToolError, ToolTimeout
from core.tools import (
    RetryPolicy,
    RiskLevel,
    ToolContext,
    ToolRegistry,
    ToolRetryable,
    ToolSpec,
    args_hash,
    canonical_json,
    invoke_tool,
    parse_arguments,
    tool,
)

CTX = ToolContext(tenant_id="t1", user_id="u1", run_id="r1", idempotency_key="r1:3:refund_order")
FAST_RETRY = RetryPolicy(max_attempts=3, backoff_s=0.0)


class Priority(enum.Enum):
    LOW = "low"
    HIGH = "high"


class LineItem(BaseModel):
    sku: str
    quantity: int = 1


@tool(risk=RiskLevel.HIGH, idempotent=True, timeout_s=5.0)
def refund_order(
    order_id: str,
    amount: float,
    context: ToolContext,
    items: list[LineItem],
    reason: Literal["damaged", "late", "other"] = "other",
    priority: Priority = Priority.LOW,
    note: str | None = None,
) -> dict[str, Any]:
    """Refund part or all of an order.

    Only for orders paid by card.

    Args:
        order_id: The order to refund.
        amount (float): Amount in USD; may be
            less than the order total.
        items: The line items being refunded.
        reason: Why the customer wants a refund.

    Returns:
        The refund record.
    """
    return {
        "order_id": order_id,
        "amount": amount,
        "skus": [item.sku for item in items],
        "reason": reason,
        "priority": priority.value,
        "note": note,
        "key": context.idempotency_key,
    }


@tool
async def lookup_customer(email: str, include_orders: bool = False) -> dict[str, Any]:
    """Find a customer by email."""
    return {"email": email, "include_orders": include_orders}


# Schema generation


def test_tool_decorator_returns_a_spec_with_its_options() -> None:
    assert isinstance(refund_order, ToolSpec)
    assert refund_order.name == "refund_order"
    assert refund_order.risk is RiskLevel.HIGH
    assert refund_order.idempotent is True
    assert refund_order.timeout_s == 5.0
    assert lookup_customer.risk is RiskLevel.READ
    assert lookup_customer.idempotent is False
    assert lookup_customer.retry == RetryPolicy()


def test_description_is_the_first_paragraph_of_the_docstring() -> None:
    assert refund_order.description == "Refund part or all of an order."


def test_parameter_descriptions_come_from_the_args_section() -> None:
    props = refund_order.parameters["properties"]
    assert props["order_id"]["description"] == "The order to refund."
    assert props["amount"]["description"] == "Amount in USD; may be less than the order total."
    assert props["reason"]["description"] == "Why the customer wants a refund."
    assert "description" not in props["priority"]


def test_required_and_optional_parameters() -> None:
    schema = refund_order.parameters
    assert schema["type"] == "object"
    assert schema["required"] == ["order_id", "amount", "items"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["note"]["default"] is None
    assert schema["properties"]["reason"]["default"] == "other"


def test_enum_literal_and_nested_list_schemas() -> None:
    schema = refund_order.parameters
    props = schema["properties"]
    assert props["reason"]["enum"] == ["damaged", "late", "other"]
    assert props["priority"]["$ref"] == "#/$defs/Priority"
    assert schema["$defs"]["Priority"]["enum"] == ["low", "high"]
    assert props["items"]["type"] == "array"
    assert props["items"]["items"] == {"$ref": "#/$defs/LineItem"}
    assert schema["$defs"]["LineItem"]["required"] == ["sku"]


def test_schema_has_no_pydantic_titles() -> None:
    assert _keys(refund_order.parameters).isdisjoint({"title"})


def test_a_parameter_named_title_survives_title_stripping() -> None:
    @tool
    def create_ticket(title: str) -> str:
        return title

    assert create_ticket.parameters["properties"] == {"title": {"type": "string"}}
    assert create_ticket.parameters["required"] == ["title"]


def test_context_parameter_is_excluded_from_the_schema() -> None:
    assert "context" not in refund_order.parameters["properties"]
    assert refund_order.context_param == "context"
    assert lookup_customer.context_param is None


def test_openai_schema_shape() -> None:
    assert lookup_customer.openai_schema() == {
        "type": "function",
        "function": {
            "name": "lookup_customer",
            "description": "Find a customer by email.",
            "parameters": {
                "additionalProperties": False,
                "properties": {
                    "email": {"type": "string"},
                    "include_orders": {"default": False, "type": "boolean"},
                },
                "required": ["email"],
                "type": "object",
            },
        },
    }


def test_custom_name_and_parameter_names_that_shadow_basemodel() -> None:
    @tool(name="fetch-json")
    def fetch(json: str, schema: dict[str, int]) -> str:
        return json

    assert fetch.name == "fetch-json"
    assert set(fetch.parameters["properties"]) == {"json", "schema"}
    assert parse_arguments(fetch, '{"json": "x", "schema": {"a": 1}}') == {"json": "x", "schema": {"a": 1}}


def test_unannotated_parameter_is_a_declaration_error() -> None:
    with pytest.raises(TypeError, match="'order_id' needs a type annotation"):

        @tool
        def refund(order_id, amount: float) -> None:  # type: ignore[no-untyped-def]
            pass


def test_var_args_are_a_declaration_error() -> None:
    with pytest.raises(TypeError, match="'rest' must be passable by keyword"):

        @tool
        def spread(*rest: str) -> None:
            pass


def test_unsupported_parameter_type_is_a_declaration_error() -> None:
    class Opaque:
        pass

    with pytest.raises(TypeError, match="tool handle: unsupported parameter type"):

        @tool
        def handle(thing: Opaque) -> None:
            pass


def test_risk_levels_are_ordered_by_rank_not_alphabet() -> None:
    assert RiskLevel.READ < RiskLevel.WRITE < RiskLevel.EXTERNAL < RiskLevel.HIGH
    assert RiskLevel.HIGH >= RiskLevel.EXTERNAL
    assert max(RiskLevel.READ, RiskLevel.HIGH, RiskLevel.WRITE) is RiskLevel.HIGH
    assert [level.rank for level in RiskLevel] == [0, 1, 2, 3]
    assert RiskLevel("external_side_effect") is RiskLevel.EXTERNAL


def test_retry_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)


# Arguments


def test_parse_arguments_returns_a_canonical_dict_with_defaults() -> None:
    args = parse_arguments(refund_order, '{"order_id": "A1", "amount": 5, "items": [{"sku": "S"}]}')
    assert args == {
        "order_id": "A1",
        "amount": 5.0,
        "items": [{"sku": "S", "quantity": 1}],
        "reason": "other",
        "priority": "low",
        "note": None,
    }


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ('{"order_id": "A1",', "refund_order: arguments are not valid JSON"),
        ("[1, 2]", "refund_order: arguments must be a JSON object, got an array"),
        ('{"amount": NaN}', "refund_order: arguments are not valid JSON: NaN is not allowed"),
        (
            '{"order_id": "A1", "amount": "lots", "items": []}',
            "refund_order: amount: Input should be a valid number",
        ),
        ('{"order_id": "A1", "items": []}', "refund_order: amount: Field required"),
        (
            '{"order_id": "A1", "amount": 1, "items": [], "coupon": "X"}',
            "refund_order: coupon: Extra inputs are not permitted",
        ),
        (
            '{"order_id": "A1", "amount": 1, "items": [{"quantity": 2}]}',
            "refund_order: items[0].sku: Field required",
        ),
        (
            '{"order_id": "A1", "amount": 1, "items": [], "reason": "bored"}',
            "refund_order: reason: Input should be 'damaged', 'late' or 'other'",
        ),
    ],
)
def test_parse_arguments_errors_are_readable(raw: str, message: str) -> None:
    with pytest.raises(ToolArgumentsInvalid) as caught:
        parse_arguments(refund_order, raw)
    assert str(caught.value).startswith(message)
    assert caught.value.code == "tool_arguments_invalid"


def test_empty_arguments_mean_an_empty_object() -> None:
    @tool
    def ping() -> str:
        return "pong"

    assert parse_arguments(ping, "") == {}
    with pytest.raises(ToolArgumentsInvalid, match="email: Field required"):
        parse_arguments(lookup_customer, "")


def test_canonical_hash_is_stable_across_key_order() -> None:
    one = parse_arguments(lookup_customer, '{"email": "é@x.io", "include_orders": true}')
    two = parse_arguments(lookup_customer, '{"include_orders": true,  "email": "é@x.io"}')
    assert canonical_json(one) == '{"email":"é@x.io","include_orders":true}'
    assert args_hash(one) == args_hash(two)
    assert len(args_hash(one)) == 64
    assert args_hash({"b": {"y": 1, "x": 2}, "a": 1}) == args_hash({"a": 1, "b": {"x": 2, "y": 1}})
    assert args_hash({"a": 1}) != args_hash({"a": 2})


# Invocation


async def test_invoke_sync_tool_with_python_objects_and_context() -> None:
    args = parse_arguments(
        refund_order, '{"order_id": "A1", "amount": 5, "items": [{"sku": "S"}], "priority": "high"}'
    )
    result = await invoke_tool(refund_order, args, CTX)
    assert result == {
        "order_id": "A1",
        "amount": 5.0,
        "skus": ["S"],
        "reason": "other",
        "priority": "high",
        "note": None,
        "key": "r1:3:refund_order",
    }


async def test_invoke_async_tool() -> None:
    result = await invoke_tool(lookup_customer, {"email": "a@b.c"}, CTX)
    assert result == {"email": "a@b.c", "include_orders": False}


async def test_invoke_revalidates_its_arguments() -> None:
    with pytest.raises(ToolArgumentsInvalid, match="lookup_customer: email: Field required"):
        await invoke_tool(lookup_customer, {}, CTX)


async def test_async_timeout_raises_tool_timeout() -> None:
    @tool(timeout_s=0.05)
    async def slow() -> None:
        await asyncio.sleep(5)

    with pytest.raises(ToolTimeout, match="slow: no answer within 0.05s"):
        await invoke_tool(slow, {}, CTX)


async def test_sync_timeout_raises_tool_timeout() -> None:
    @tool(timeout_s=0.05)
    def blocking() -> None:
        time.sleep(0.3)

    with pytest.raises(ToolTimeout):
        await invoke_tool(blocking, {}, CTX)


async def test_a_tools_own_timeout_error_is_not_ours() -> None:
    @tool
    async def upstream() -> None:
        raise TimeoutError("upstream gave up")

    with pytest.raises(TimeoutError, match="upstream gave up") as caught:
        await invoke_tool(upstream, {}, CTX)
    assert not isinstance(caught.value, ToolTimeout)


async def test_idempotent_tool_is_retried_until_it_succeeds() -> None:
    calls: list[str] = []

    @tool(idempotent=True, retry=FAST_RETRY)
    def charge(ctx: ToolContext) -> str:
        calls.append(ctx.idempotency_key)
        if len(calls) < 3:
            raise ConnectionError("flaky")
        return "charged"

    assert await invoke_tool(charge, {}, CTX) == "charged"
    assert calls == [CTX.idempotency_key] * 3


async def test_idempotent_tool_gives_up_after_max_attempts() -> None:
    calls = 0

    @tool(idempotent=True, retry=FAST_RETRY)
    async def broken() -> None:
        nonlocal calls
        calls += 1
        raise ConnectionError("down")

    with pytest.raises(ConnectionError, match="down"):
        await invoke_tool(broken, {}, CTX)
    assert calls == 3


async def test_idempotent_tool_timeout_is_retried() -> None:
    calls = 0

    @tool(idempotent=True, retry=FAST_RETRY, timeout_s=0.05)
    async def sometimes_slow() -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            await asyncio.sleep(5)
        return "ok"

    assert await invoke_tool(sometimes_slow, {}, CTX) == "ok"
    assert calls == 2


async def test_non_idempotent_tool_is_not_retried() -> None:
    calls = 0

    @tool(retry=FAST_RETRY)
    async def send_email() -> None:
        nonlocal calls
        calls += 1
        raise ConnectionError("reset by peer")

    with pytest.raises(ConnectionError):
        await invoke_tool(send_email, {}, CTX)
    assert calls == 1


async def test_non_idempotent_timeout_is_not_retried() -> None:
    calls = 0

    @tool(retry=FAST_RETRY, timeout_s=0.05)
    async def transfer() -> None:
        nonlocal calls
        calls += 1
        await asyncio.sleep(5)

    with pytest.raises(ToolTimeout):
        await invoke_tool(transfer, {}, CTX)
    assert calls == 1


async def test_tool_retryable_is_retried_for_non_idempotent_tool() -> None:
    calls = 0

    @tool(retry=FAST_RETRY)
    def post_message() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise ToolRetryable("rate limited before sending")
        return "sent"

    assert await invoke_tool(post_message, {}, CTX) == "sent"
    assert calls == 3


async def test_misuse_errors_are_not_retried() -> None:
    calls = 0

    @tool(idempotent=True, retry=FAST_RETRY)
    async def delete_repo() -> None:
        nonlocal calls
        calls += 1
        raise Forbidden("not an owner")

    with pytest.raises(Forbidden):
        await invoke_tool(delete_repo, {}, CTX)
    assert calls == 1


@dataclass(frozen=True)
class Receipt:
    id: str
    priority: Priority


class Order(BaseModel):
    id: str
    priority: Priority


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Receipt("R1", Priority.HIGH), {"id": "R1", "priority": "high"}),
        (Order(id="O1", priority=Priority.LOW), {"id": "O1", "priority": "low"}),
        ([1, "two", None, True, 2.5], [1, "two", None, True, 2.5]),
        (None, None),
    ],
)
async def test_results_are_json_values(value: Any, expected: Any) -> None:
    @tool
    def produce() -> Any:
        return value

    assert await invoke_tool(produce, {}, CTX) == expected


async def test_non_json_result_is_a_tool_error() -> None:
    @tool
    def produce() -> object:
        return {"when": object()}

    with pytest.raises(ToolError, match="produce: result is not JSON-serialisable"):
        await invoke_tool(produce, {}, CTX)


# Registry


def test_registry_lookup_and_schemas() -> None:
    registry = ToolRegistry([refund_order, lookup_customer])
    assert registry.get("refund_order") is refund_order
    assert registry.get("nope") is None
    assert "lookup_customer" in registry
    assert "nope" not in registry
    assert list(registry) == [refund_order, lookup_customer]
    assert len(registry) == 2
    assert [s["function"]["name"] for s in registry.openai_schemas()] == ["refund_order", "lookup_customer"]


def test_registry_rejects_duplicate_names() -> None:
    @tool(name="lookup_customer")
    def impostor() -> None:
        pass

    with pytest.raises(ValueError, match="lookup_customer"):
        ToolRegistry([lookup_customer, impostor])


def _keys(node: Any, skip_names: bool = False) -> set[str]:
    """Every schema keyword used, skipping the property names under "properties"."""
    if isinstance(node, list):
        return set().union(*(_keys(item) for item in node)) if node else set()
    if not isinstance(node, dict):
        return set()
    found: set[str] = set() if skip_names else set(node)
    for key, value in node.items():
        found |= _keys(value, skip_names=key in ("properties", "$defs"))
    return found
