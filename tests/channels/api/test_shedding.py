"""Load shedding: past its turns the API refuses with 429, Retry-After and the usual error
shape; writes go before reads; `/healthz` never waits."""

from __future__ import annotations

import asyncio

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from channels.api.shedding import Lane, SheddingMiddleware, ShedOptions, Turns
from core.urgency import Urgency, current_urgency


class Held:
    """Endpoints that stay in their handler until released."""

    def __init__(self) -> None:
        self.entered: list[str] = []
        self.release = asyncio.Event()

    async def handle(self, request: Request) -> Response:
        self.entered.append(f"{request.method} {request.url.path}")
        await self.release.wait()
        return JSONResponse({"ok": True})

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})


def app(held: Held, turns: Turns) -> Starlette:
    routes = [
        Route("/v1/runs", held.handle, methods=["GET", "POST"]),
        Route("/healthz", held.health, methods=["GET"]),
    ]
    return Starlette(routes=routes, middleware=[Middleware(SheddingMiddleware, turns=turns)])


def client(asgi: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="http://api")


async def until(condition: object) -> None:
    for _ in range(1000):
        if callable(condition) and condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never held")


async def test_a_saturated_api_refuses_with_429_retry_after_and_the_error_shape() -> None:
    held, turns = Held(), Turns(ShedOptions(requests=1, reads=1, waiting=0, retry_after_s=2))
    async with client(app(held, turns)) as http:
        first = asyncio.create_task(http.get("/v1/runs"))
        await until(lambda: held.entered)

        refused = await http.get("/v1/runs")

        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "2"
        assert refused.json() == {
            "error": {"code": "busy", "message": "the service is busy; try again in 2s"}
        }
        held.release.set()
        assert (await first).status_code == 200
    assert turns.busy == 0


async def test_health_never_waits_for_a_turn() -> None:
    held, turns = Held(), Turns(ShedOptions(requests=1, reads=1, waiting=0))
    async with client(app(held, turns)) as http:
        first = asyncio.create_task(http.get("/v1/runs"))
        await until(lambda: held.entered)

        assert (await http.get("/healthz")).status_code == 200

        held.release.set()
        await first


async def test_reads_leave_turns_for_writes() -> None:
    held, turns = Held(), Turns(ShedOptions(requests=2, reads=1, waiting=0))
    async with client(app(held, turns)) as http:
        read = asyncio.create_task(http.get("/v1/runs"))
        await until(lambda: len(held.entered) == 1)

        assert (await http.get("/v1/runs")).status_code == 429  # the second read finds no turn
        write = asyncio.create_task(http.post("/v1/runs"))
        await until(lambda: len(held.entered) == 2)

        held.release.set()
        assert [(await read).status_code, (await write).status_code] == [200, 200]


async def test_a_waiting_write_goes_before_a_waiting_read() -> None:
    turns = Turns(ShedOptions(requests=1, reads=1, waiting=2, max_wait_s=30))
    assert await turns.take(Lane.WRITE)
    order: list[Lane] = []

    async def wait_for(lane: Lane) -> None:
        assert await turns.take(lane)
        order.append(lane)
        turns.give(lane)

    read = asyncio.create_task(wait_for(Lane.READ))
    await until(lambda: turns.waiting == 1)
    write = asyncio.create_task(wait_for(Lane.WRITE))
    await until(lambda: turns.waiting == 2)

    turns.give(Lane.WRITE)
    await asyncio.gather(read, write)

    assert order == [Lane.WRITE, Lane.READ]
    assert (turns.busy, turns.reads, turns.waiting) == (0, 0, 0)


async def test_a_request_that_waits_too_long_is_refused_and_leaves_the_line() -> None:
    turns = Turns(ShedOptions(requests=1, reads=1, waiting=1, max_wait_s=0.01))
    assert await turns.take(Lane.WRITE)

    assert not await turns.take(Lane.READ)

    assert (turns.busy, turns.waiting) == (1, 0)


async def test_a_cancelled_waiter_gives_its_turn_back() -> None:
    turns = Turns(ShedOptions(requests=1, reads=1, waiting=1, max_wait_s=30))
    assert await turns.take(Lane.WRITE)
    waiter = asyncio.create_task(turns.take(Lane.READ))
    await until(lambda: turns.waiting == 1)

    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)
    turns.give(Lane.WRITE)

    assert (turns.busy, turns.reads, turns.waiting) == (0, 0, 0)


async def test_a_turn_is_given_back_when_the_response_starts() -> None:
    turns = Turns(ShedOptions(requests=1, reads=1, waiting=0))
    release = asyncio.Event()

    async def stream(scope: object, receive: object, send: object) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
        await until(lambda: turns.busy == 0)  # streaming holds no turn
        release.set()
        await send({"type": "http.response.body", "body": b"done"})  # type: ignore[operator]

    async with client(SheddingMiddleware(stream, turns)) as http:  # type: ignore[arg-type]
        response = await http.get("/v1/runs/run_1/events")

    assert response.status_code == 200 and release.is_set()


async def test_a_request_goes_ahead_of_background_work_in_the_store() -> None:
    seen: list[Urgency] = []

    async def endpoint(request: Request) -> Response:
        seen.append(current_urgency())
        return JSONResponse({})

    routes = [Route("/v1/runs", endpoint, methods=["GET", "POST"])]
    asgi = Starlette(routes=routes, middleware=[Middleware(SheddingMiddleware, turns=Turns(ShedOptions()))])
    async with client(asgi) as http:
        await http.post("/v1/runs")
        await http.get("/v1/runs")

    assert seen == [Urgency.INGRESS, Urgency.READ]
    assert current_urgency() is Urgency.BACKGROUND
