"""The served app fuzzed from its own OpenAPI document: schemathesis sends valid and invalid
requests to every operation and checks every answer against the document (status codes, content
types, response schemas, headers), that invalid input is rejected and that no request gets a 5xx.

The app is `switchboard serve`'s (`create_app`) on a fresh SQLite store with the offline demo,
reached in process; requests carry the demo admin's key, so the admin-only routes answer too.
The document is built at collection time (that needs no service); the fixture checks that the
served app hands out the same one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from schemathesis import GenerationMode
from schemathesis.python.asgi import get_client, shutdown_lifespans
from starlette.types import ASGIApp, Receive, Scope, Send

from channels.api.openapi import openapi_document
from core.settings import Settings
from service.demo import ADMIN_KEY
from service.server import create_app

EXAMPLES = 25  # per operation: about a minute for the whole document on one core
BOTS = ["support", "ops"]  # the embedded defaults' bots, which the served document names


class Served:
    """The app the schema sends to. Schemathesis binds a schema's app when the tests are
    collected; the service is built later, by the fixture, so this stands in until then."""

    app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.app is not None, "the served fixture has not started the service"
        await self.app(scope, receive, send)


SERVED = Served()
schema = schemathesis.openapi.from_dict(openapi_document(bots=BOTS))
schema.app = SERVED
schema.config.update(base_url="http://testserver")
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=EXAMPLES, database="none"
)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as env:
        for name in [k for k in os.environ if k.startswith(("SWITCHBOARD_", "OPENAI_"))]:
            env.delenv(name)
        where: Path = tmp_path_factory.mktemp("fuzz")
        env.chdir(where)
        SERVED.app = create_app(Settings(database_url=f"sqlite:///{where}/fuzz.db"))
        try:
            with get_client(SERVED) as client:  # starts the service, once for the module
                assert client.get("/openapi.json").json() == openapi_document(bots=BOTS)
            yield
        finally:
            shutdown_lifespans()  # the service's workers and scheduler stop with the module
            SERVED.app = None


@schema.parametrize()
def test_every_operation_answers_as_documented(case: schemathesis.Case, served: None) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {ADMIN_KEY}"})
