"""The knowledge endpoints: namespaces (list, create, delete), their documents (list, upload,
remove) and search, as the caller. Each handler authenticates, translates HTTP into one call of
the knowledge desk (knowledge/desk.py, behind the `KnowledgeDesk` protocol below) and renders the
result; the desk decides who may see and change what, and the store filters every read by it.

Uploads are JSON (`content` for text, `content_base64` for a PDF or any bytes), capped in size;
a document that cannot be read is reported in `failed` with why, never half-ingested.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.config import JsonDict
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from channels.api.auth import authenticate
from channels.api.body import read_json, validate
from channels.api.errors import json_response
from channels.api.schemas import FreeText, Identifier
from core.errors import InvalidInput
from core.ports import KnowledgeAnswer
from core.records import Principal
from core.runtime import Runtime

NAME_PATTERN = "^[a-z0-9][a-z0-9._-]{0,39}$"
SOURCE_PATTERN = "^[^\\u0000-\\u001f\\u007f-\\u009f]+\\.(md|markdown|txt|text|rst|html|htm|pdf)$"


class KnowledgeDesk(Protocol):
    @property
    def dense(self) -> bool: ...

    async def namespaces(self, who: Principal) -> list[dict[str, Any]]: ...

    async def create(
        self, who: Principal, name: str, kind: str, channel: str | None, allow: Sequence[str]
    ) -> dict[str, Any]: ...

    async def delete(self, who: Principal, name: str) -> None: ...

    async def documents(self, who: Principal, name: str) -> list[dict[str, Any]]: ...

    async def upload(self, who: Principal, name: str, source: str, data: bytes) -> dict[str, Any]: ...

    async def remove(self, who: Principal, name: str, source: str) -> None: ...

    async def search(
        self, who: Principal, query: str, namespaces: Sequence[str] | None, limit: int
    ) -> KnowledgeAnswer: ...

    async def groups(self, who: Principal) -> list[dict[str, Any]]: ...

    async def add_member(self, who: Principal, group: str, user_id: str) -> None: ...

    async def remove_member(self, who: Principal, group: str, user_id: str) -> None: ...


class NamespaceView(BaseModel):
    name: str
    kind: Literal["tenant", "channel", "private"]
    channel: str | None
    documents: int
    chunks: int


class NamespaceList(BaseModel):
    namespaces: list[NamespaceView]
    search: Literal["hybrid", "keyword-only"] = Field(
        description="keyword-only: no embeddings endpoint is configured."
    )


_CHANNEL_NEEDS_ONE: JsonDict = {
    "anyOf": [
        {"properties": {"kind": {"enum": ["tenant", "private"]}}},
        {
            "required": ["kind", "channel"],
            "properties": {"kind": {"const": "channel"}, "channel": {"type": "string"}},
        },
    ]
}
_PRINCIPAL = Annotated[
    str, Field(max_length=200, pattern="^(user|group):[^\\u0000-\\u001f\\u007f-\\u009f]+$")
]
_BASE64 = "^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"


class NamespaceBody(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_CHANNEL_NEEDS_ONE)
    name: str = Field(pattern=NAME_PATTERN, description="Unique in the tenant.")
    kind: Literal["tenant", "channel", "private"] = Field(
        default="private", description="tenant and channel namespaces are an admin's to make."
    )
    channel: Identifier | None = Field(
        default=None,
        min_length=3,
        max_length=300,
        description='A channel namespace\'s "<surface>:<channel id>".',
    )
    allow: list[_PRINCIPAL] = Field(
        default_factory=list,
        max_length=100,
        description='Who may see it besides the kind\'s rule: "user:<id>" or "group:<name>". Empty: no further limit.',
    )

    @model_validator(mode="after")
    def _channel_named(self) -> NamespaceBody:
        if self.kind == "channel" and not self.channel:
            raise ValueError('a channel namespace needs its channel ("<surface>:<channel id>")')
        return self


class DocumentView(BaseModel):
    source: str
    title: str
    status: Literal["ready", "failed"]
    error: str | None
    chunks: int
    updated_at: float


class DocumentList(BaseModel):
    documents: list[DocumentView]


_TEXT_OR_BYTES: JsonDict = {
    "oneOf": [
        {
            "required": ["content"],
            "properties": {"content": {"type": "string"}, "content_base64": {"type": "null"}},
        },
        {
            "required": ["content_base64"],
            "properties": {"content_base64": {"type": "string"}, "content": {"type": "null"}},
        },
    ]
}


class UploadBody(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_TEXT_OR_BYTES)
    source: str = Field(
        min_length=4,
        max_length=1000,
        pattern=SOURCE_PATTERN,
        description="A path or URL; its suffix names the format.",
    )
    content: FreeText | None = Field(default=None, description="The document as text (Markdown, text, HTML).")
    content_base64: str | None = Field(
        default=None, pattern=_BASE64, description="The document's bytes in base64 (e.g. a PDF)."
    )

    @model_validator(mode="after")
    def _one_content(self) -> UploadBody:
        if (self.content is None) == (self.content_base64 is None):
            raise ValueError("give exactly one of content and content_base64")
        return self

    def data(self) -> bytes:
        if self.content is not None:
            return self.content.encode()
        try:
            return base64.b64decode(self.content_base64 or "", validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput("body.content_base64: not valid base64") from None


class IngestView(BaseModel):
    added: list[str]
    updated: list[str]
    unchanged: list[str]
    removed: list[str]
    failed: dict[str, str] = Field(description="Documents that could not be ingested, with why.")
    chunks_written: int
    chunks_embedded: int
    embeddings_error: str | None = Field(description="Why vectors are missing (retried on the next upload).")


class DocumentQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str = Field(min_length=1, max_length=1000, pattern="^[^\\u0000-\\u001f\\u007f-\\u009f]+$")


class SearchBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    query: FreeText = Field(min_length=1, max_length=2000)
    namespaces: list[Identifier] | None = Field(
        default=None, max_length=50, description="Search only these; none: all the caller may see."
    )
    limit: int = Field(default=5, ge=1, le=50)


class HitView(BaseModel):
    ref: int = Field(description="Rank in this answer (1 is best); scores are never exposed.")
    namespace: str
    title: str
    source: str
    section: str
    position: int
    text: str


class SearchView(BaseModel):
    search: Literal["hybrid", "keyword", "dense"]
    note: str | None = Field(description="Why the search was keyword-only, when it was.")
    results: list[HitView]


class GroupView(BaseModel):
    name: str
    members: list[str] = Field(description="The members' user ids.")


class GroupList(BaseModel):
    groups: list[GroupView]


class KnowledgeEndpoints:
    def __init__(
        self, runtime: Runtime, desk: KnowledgeDesk, *, max_body_bytes: int, max_upload_bytes: int
    ) -> None:
        self._runtime = runtime
        self._desk = desk
        self._max_body = max_body_bytes
        # base64 grows 4/3; JSON adds a little
        self._max_upload = max_upload_bytes * 4 // 3 + 4096

    def routes(self) -> list[Route]:
        ns = "/v1/knowledge/namespaces"
        return [
            Route(ns, self.namespaces, methods=["GET", "POST"], name="knowledge_namespaces"),
            Route(ns + "/{namespace}", self.delete_namespace, methods=["DELETE"], name="knowledge_namespace"),
            Route(ns + "/{namespace}/documents", self.documents, methods=["GET", "PUT", "DELETE"]),
            Route("/v1/knowledge/search", self.search, methods=["POST"], name="knowledge_search"),
            Route("/v1/knowledge/groups", self.groups, methods=["GET"], name="knowledge_groups"),
            Route("/v1/knowledge/groups/{group}/members/{user_id}", self.member, methods=["PUT", "DELETE"]),
        ]

    # One route per path, so a 405's Allow header lists every method the path takes.
    async def namespaces(self, request: Request) -> Response:
        if request.method == "POST":
            return await self.create_namespace(request)
        return await self.list_namespaces(request)

    async def documents(self, request: Request) -> Response:
        if request.method == "PUT":
            return await self.upload(request)
        if request.method == "DELETE":
            return await self.remove(request)
        return await self.list_documents(request)

    async def list_namespaces(self, request: Request) -> Response:
        who = await authenticate(request, self._runtime)
        views = [NamespaceView.model_validate(n) for n in await self._desk.namespaces(who)]
        search: Literal["hybrid", "keyword-only"] = "hybrid" if self._desk.dense else "keyword-only"
        return json_response(NamespaceList(namespaces=views, search=search))

    async def create_namespace(self, request: Request) -> Response:
        who = await authenticate(request, self._runtime)
        body = await read_json(request, NamespaceBody, self._max_body)
        made = await self._desk.create(who, body.name, body.kind, body.channel, body.allow)
        return json_response(NamespaceView.model_validate(made), status=201)

    async def delete_namespace(self, request: Request) -> Response:
        who = await authenticate(request, self._runtime)
        await self._desk.delete(who, request.path_params["namespace"])
        return Response(status_code=204)

    async def list_documents(self, request: Request) -> Response:
        who = await authenticate(request, self._runtime)
        docs = await self._desk.documents(who, request.path_params["namespace"])
        return json_response(DocumentList(documents=[DocumentView.model_validate(d) for d in docs]))

    async def upload(self, request: Request) -> Response:
        who = await authenticate(request, self._runtime)
        body = await read_json(request, UploadBody, self._max_upload)
        report = await self._desk.upload(who, request.path_params["namespace"], body.source, body.data())
        return json_response(IngestView.model_validate(report))

    async def remove(self, request: Request) -> Response:
        who = await authenticate(request, self._runtime)
        query = validate(DocumentQuery, dict(request.query_params), where="query")
        await self._desk.remove(who, request.path_params["namespace"], query.source)
        return Response(status_code=204)

    async def search(self, request: Request) -> Response:
        who = await authenticate(request, self._runtime)
        body = await read_json(request, SearchBody, self._max_body)
        answer = await self._desk.search(who, body.query, body.namespaces, body.limit)
        hits = [
            HitView(
                ref=h.rank, namespace=h.namespace, title=h.document_title, source=h.source,
                section=h.title_path, position=h.position, text=h.text,
            )
            for h in answer.hits
        ]  # fmt: skip
        mode: Any = answer.mode
        return json_response(SearchView(search=mode, note=answer.note, results=hits))

    async def groups(self, request: Request) -> Response:
        who = await authenticate(request, self._runtime)
        found = await self._desk.groups(who)
        return json_response(GroupList(groups=[GroupView.model_validate(g) for g in found]))

    async def member(self, request: Request) -> Response:
        """PUT adds the user to the group (made by its first member), DELETE removes them."""
        who = await authenticate(request, self._runtime)
        group, user_id = request.path_params["group"], request.path_params["user_id"]
        if request.method == "PUT":
            await self._desk.add_member(who, group, user_id)
        else:
            await self._desk.remove_member(who, group, user_id)
        return Response(status_code=204)
