"""Ingestion: formats, structure-aware chunks, incremental re-sync, crash and resume, deletion,
and bad input recorded as a document's error (never a traceback, never half-ingested)."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter
from sqlalchemy import text

from core.errors import Conflict
from core.ports import KnowledgeAudience
from knowledge.embeddings import OpenAIEmbedder
from knowledge.ingest import Ingestor, IngestReport
from knowledge.retriever import Retriever
from tests.conftest import TenantFixture
from tests.knowledge.conftest import Kit

GUIDE = """# Guide

Intro to the guide.

## Slack

Create a Slack app from the manifest in manifests/slack.yaml and set SWITCHBOARD_SLACK__BOT_TOKEN.

## Discord

Create a Discord application and put its token in SWITCHBOARD_DISCORD__TOKEN.
"""


def _pdf(text_line: str) -> bytes:
    """A one-page PDF whose text is `text_line`, written by hand (offsets computed)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text_line}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return out


async def _chunk_rows(kit: Kit, namespace_id: str) -> list[tuple[str, int, str]]:
    def work(conn):  # type: ignore[no-untyped-def]
        sql = text(
            "SELECT d.source, c.position, c.title_path FROM knowledge_chunks c "
            "JOIN knowledge_documents d ON d.id = c.document_id WHERE c.namespace_id = :ns "
            "ORDER BY d.source, c.position"
        )
        return [tuple(r) for r in conn.execute(sql, {"ns": namespace_id})]

    return await kit.store.db.read(work)


def _audience(tenant: TenantFixture) -> KnowledgeAudience:
    return KnowledgeAudience(tenant.id, tenant.member.user_id)


async def test_a_folder_of_every_format_is_chunked_on_its_structure(
    kit: Kit, tenant: TenantFixture, tmp_path: Path
) -> None:
    (tmp_path / "guide.md").write_text(GUIDE)
    (tmp_path / "notes.txt").write_text("Rotate the on-call pager every Monday.\n")
    (tmp_path / "page.html").write_text(
        "<html><head><title>Runbook</title><style>p{}</style></head><body><h1>Runbook</h1>"
        "<h2>Restart</h2><p>Restart the worker with systemctl restart switchboard.</p>"
        "<script>alert(1)</script></body></html>"
    )
    (tmp_path / "policy.pdf").write_bytes(_pdf("Refunds above 100 dollars need an admin"))
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD.md").write_text("# not a document")
    ns = await kit.store.create_namespace(tenant.id, "docs", "tenant", tenant.admin.user_id)

    report = await kit.ingestor.sync_folder(ns, tmp_path, prefix="repo")

    assert sorted(report.added) == ["repo/guide.md", "repo/notes.txt", "repo/page.html", "repo/policy.pdf"]
    assert report.failed == {}
    rows = await _chunk_rows(kit, ns.id)
    paths = {(source, path) for source, _, path in rows}
    assert ("repo/guide.md", "Guide > Slack") in paths
    assert ("repo/guide.md", "Guide > Discord") in paths
    assert ("repo/page.html", "Runbook > Restart") in paths
    assert ("repo/policy.pdf", "policy > page 1") in paths
    answer = await kit.retriever.search(_audience(tenant), "how do I connect Slack?", None, 3)
    assert answer.mode == "hybrid" and answer.note is None
    top = answer.hits[0]
    assert (top.source, top.title_path, top.document_title) == ("repo/guide.md", "Guide > Slack", "Guide")
    assert "alert(1)" not in " ".join(h.text for h in answer.hits)


async def test_resync_is_incremental_and_deletion_propagates(
    kit: Kit, tenant: TenantFixture, tmp_path: Path
) -> None:
    (tmp_path / "guide.md").write_text(GUIDE)
    (tmp_path / "old.md").write_text("# Old\n\nThe legacy fax gateway is retired.\n")
    ns = await kit.store.create_namespace(tenant.id, "docs", "tenant", tenant.admin.user_id)
    first = await kit.ingestor.sync_folder(ns, tmp_path, prefix="repo")
    assert first.chunks_embedded == first.chunks_written > 0

    cached = await kit.retriever.search(_audience(tenant), "legacy fax gateway", None, 5, "dense")
    assert cached.hits[0].source == "repo/old.md"  # the namespace's vectors are now cached
    again = await kit.ingestor.sync_folder(ns, tmp_path, prefix="repo")
    assert again.unchanged == ["repo/guide.md", "repo/old.md"] and again.chunks_embedded == 0

    (tmp_path / "guide.md").write_text(GUIDE + "\n## Teams\n\nRegister an Azure bot for Teams.\n")
    (tmp_path / "old.md").unlink()
    changed = await kit.ingestor.sync_folder(ns, tmp_path, prefix="repo")
    assert changed.updated == ["repo/guide.md"] and changed.removed == ["repo/old.md"]
    assert changed.chunks_embedded == 1  # only the new section's chunk; the others are reused
    for mode in ("hybrid", "dense"):  # a change bumps the namespace's revision: no stale vectors
        answer = await kit.retriever.search(_audience(tenant), "legacy fax gateway", None, 5, mode)
        assert all(h.source != "repo/old.md" for h in answer.hits)
    teams = await kit.retriever.search(_audience(tenant), "Register an Azure bot for Teams", None, 1, "dense")
    assert teams.hits[0].title_path == "Guide > Teams"
    assert [d.source for d in await kit.store.documents(tenant.id, ns.id)] == ["repo/guide.md"]


async def test_a_crash_mid_ingest_then_resume_leaves_no_duplicate_or_orphan(
    kit: Kit, tenant: TenantFixture, tmp_path: Path
) -> None:
    for n in range(4):
        (tmp_path / f"doc{n}.md").write_text(f"# Doc {n}\n\nBody of document number {n} about topic{n}.\n")
    ns = await kit.store.create_namespace(tenant.id, "docs", "tenant", tenant.admin.user_id)

    class Crash(Exception):
        pass

    def crash_after_two(done: int, total: int, source: str) -> None:
        if done == 2:
            raise Crash  # the process dies after the second document's commit

    with pytest.raises(Crash):
        await kit.ingestor.sync_folder(ns, tmp_path, prefix="repo", progress=crash_after_two)
    assert len({s for s, _, _ in await _chunk_rows(kit, ns.id)}) == 2

    report = await kit.ingestor.sync_folder(ns, tmp_path, prefix="repo")
    assert report.unchanged == ["repo/doc0.md", "repo/doc1.md"]
    assert report.added == ["repo/doc2.md", "repo/doc3.md"]
    rows = await _chunk_rows(kit, ns.id)
    assert len(rows) == len(set(rows)) == 4

    def orphans(conn):  # type: ignore[no-untyped-def]
        sql = (
            "SELECT COUNT(*) FROM knowledge_chunks c LEFT JOIN knowledge_documents d "
            "ON d.id = c.document_id WHERE d.id IS NULL"
        )
        return conn.execute(text(sql)).scalar()

    assert await kit.store.db.read(orphans) == 0


async def test_bad_input_is_recorded_with_a_clear_error_and_nothing_half_ingested(
    kit: Kit, tenant: TenantFixture, tmp_path: Path
) -> None:
    (tmp_path / "empty.md").write_text("")
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02binary")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9 au lait".encode("latin-1"))
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    (tmp_path / "fake.pdf").write_bytes(b"hello, I am text")
    (tmp_path / "big.md").write_text("# Big\n\n" + "word " * 400)
    (tmp_path / "good.md").write_text("# Good\n\nThis one is fine.\n")
    ns = await kit.store.create_namespace(tenant.id, "docs", "tenant", tenant.admin.user_id)
    small = Ingestor(kit.store, kit.embedder, max_bytes=1000)

    report = await small.sync_folder(ns, tmp_path, prefix="repo")

    assert report.added == ["repo/good.md"]
    failed = report.failed
    assert failed["repo/empty.md"] == "the file is empty"
    assert failed["repo/binary.txt"] == "this is a binary file, not text"
    assert failed["repo/latin1.txt"].startswith("the file is not UTF-8 text (byte 0xe9 at offset 3)")
    assert failed["repo/broken.pdf"].startswith("the PDF cannot be read")
    assert failed["repo/fake.pdf"] == "this is not a PDF file (no %PDF header)"
    assert failed["repo/big.md"] == "the file is 2.0 kB, over the 1.0 kB cap"
    docs = {d.source: d for d in await kit.store.documents(tenant.id, ns.id)}
    assert docs["repo/empty.md"].status == "failed" and docs["repo/empty.md"].chunk_count == 0
    assert {s for s, _, _ in await _chunk_rows(kit, ns.id)} == {"repo/good.md"}


async def test_an_encrypted_pdf_is_refused(kit: Kit, tenant: TenantFixture) -> None:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(_pdf("secret plans"))))
    writer.encrypt("hunter2", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    ns = await kit.store.create_namespace(tenant.id, "docs", "tenant", tenant.admin.user_id)
    report = IngestReport()
    await kit.ingestor.add_bytes(ns, "locked.pdf", out.getvalue(), report)
    assert report.failed == {"locked.pdf": "the PDF is encrypted; add a decrypted copy"}


async def test_embeddings_down_stores_chunks_for_keyword_search_and_retries_later(
    kit: Kit, tenant: TenantFixture, tmp_path: Path
) -> None:
    (tmp_path / "guide.md").write_text(GUIDE)
    ns = await kit.store.create_namespace(tenant.id, "docs", "tenant", tenant.admin.user_id)
    down = OpenAIEmbedder("http://127.0.0.1:9/v1", kit.embedder.model, timeout_s=2)
    report = await Ingestor(kit.store, down).sync_folder(ns, tmp_path, prefix="repo")
    assert report.added == ["repo/guide.md"] and report.embeddings_error is not None
    answer = await Retriever(kit.store, down).search(_audience(tenant), "Slack manifest", None, 3)
    assert answer.mode == "keyword" and answer.note is not None and answer.note.startswith("keyword-only")
    assert answer.hits[0].title_path == "Guide > Slack"
    await down.aclose()

    wrong = OpenAIEmbedder(kit_url(kit), kit.embedder.model, dimension=3)
    again = await Ingestor(kit.store, wrong).sync_folder(ns, tmp_path, prefix="repo")
    assert again.embeddings_error == "the endpoint answered 256-dimensional vectors; 3 are configured"
    await wrong.aclose()

    healed = await kit.ingestor.sync_folder(ns, tmp_path, prefix="repo")
    assert healed.updated == ["repo/guide.md"] and healed.chunks_embedded > 0
    assert (await kit.ingestor.sync_folder(ns, tmp_path, prefix="repo")).unchanged == ["repo/guide.md"]


def kit_url(kit: Kit) -> str:
    return str(kit.embedder._client.base_url).rstrip("/")


async def test_duplicate_uploads_at_once_leave_one_document_and_names_one_namespace(
    kit: Kit, tenant: TenantFixture
) -> None:
    async def create() -> str:
        try:
            await kit.store.create_namespace(tenant.id, "docs", "tenant", tenant.admin.user_id)
        except Conflict:
            return "conflict"
        return "made"

    assert sorted(await asyncio.gather(*(create() for _ in range(4)))) == ["conflict"] * 3 + ["made"]
    ns = await kit.store.namespace(tenant.id, "docs")
    reports = [IngestReport() for _ in range(4)]
    bodies = [GUIDE.encode(), GUIDE.encode(), (GUIDE + "\nMore.\n").encode(), GUIDE.encode()]
    await asyncio.gather(
        *(kit.ingestor.add_bytes(ns, "guide.md", b, r) for b, r in zip(bodies, reports, strict=True))
    )
    docs = await kit.store.documents(tenant.id, ns.id)
    assert [d.source for d in docs] == ["guide.md"] and docs[0].status == "ready"
    rows = await _chunk_rows(kit, ns.id)
    assert len(rows) == len(set(rows)) == docs[0].chunk_count
