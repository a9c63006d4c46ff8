"""Retrieval quality on a small labelled set shipped here (tests/knowledge/corpus and
quality_set.json: questions and the chunk that answers them): recall@5 for keyword only, dense
only (the scripted embeddings: hashed words and trigrams, a weak model) and hybrid, printed and
asserted loosely, so a regression that breaks a path shows without pinning exact figures."""

from __future__ import annotations

import json
from pathlib import Path

from core.ports import KnowledgeAudience
from knowledge.retriever import MODES
from tests.conftest import TenantFixture
from tests.knowledge.conftest import Kit

HERE = Path(__file__).parent
FLOOR = {"keyword": 0.7, "dense": 0.5, "hybrid": 0.7}


async def test_recall_at_5_for_keyword_dense_and_hybrid(kit: Kit, tenant: TenantFixture) -> None:
    ns = await kit.store.create_namespace(tenant.id, "handbook", "tenant", tenant.admin.user_id)
    report = await kit.ingestor.sync_folder(ns, HERE / "corpus", prefix="corpus")
    assert not report.failed and len(report.added) == 8
    labelled = json.loads((HERE / "quality_set.json").read_text())
    who = KnowledgeAudience(tenant.id, tenant.member.user_id)
    recall: dict[str, float] = {}
    first: dict[str, float] = {}
    for mode in MODES:
        found = top = 0
        for item in labelled:
            answer = await kit.retriever.search(who, item["q"], None, 5, mode)
            wanted = (f"corpus/{item['source']}", item["section"])
            places = [(h.source, h.title_path) for h in answer.hits]
            found += wanted in places
            top += places[:1] == [wanted]
        recall[mode], first[mode] = found / len(labelled), top / len(labelled)
    print(
        f"\nover {len(labelled)} questions: "
        + ", ".join(f"{m} recall@5 {recall[m]:.2f} recall@1 {first[m]:.2f}" for m in MODES)
    )
    for mode, floor in FLOOR.items():
        assert recall[mode] >= floor, recall
