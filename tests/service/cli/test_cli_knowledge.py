"""`switchboard knowledge …` as a person types it, against a running service (the offline demo,
whose docs are the demo tenant's "switchboard-docs" namespace): sync a folder incrementally, list,
search with citations, remove; and the leak checks through the CLI (another member's private
namespace and another tenant never show a title, a chunk or a count)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from service.demo import ADMIN_KEY, CUSTOMER_KEY
from tests.service.cli.conftest import Cli

SECRET = "# Merger\n\nProject Zebra merger: codename falcon, price 42 million.\n"
CRAFTED = "Project Zebra merger codename falcon price"


def test_the_demo_docs_are_searchable_and_the_bot_cites_them(cli: Cli) -> None:
    code, out, err = cli("knowledge", "list")
    assert code == 0, err
    assert re.search(r"switchboard-docs\s+tenant\s+\d+\s+\d+", out), out
    code, out, err = cli("knowledge", "search", "how do I connect Slack?")
    assert code == 0 and "README.md" in out and "[1]" in out, out + err
    code, out, err = cli("run", "support", "How do I connect Slack?", "--json")
    assert code == 0, err
    answer = json.loads(out)["answer"]
    assert "README.md" in answer and "[1]" in answer


def test_sync_list_search_remove_and_no_leaks(cli: Cli, tmp_path: Path) -> None:
    docs = tmp_path / "runbooks"
    docs.mkdir()
    (docs / "restart.md").write_text("# Restart\n\nRestart the worker with systemctl restart switchboard.\n")
    (docs / "pager.txt").write_text("Rotate the on-call pager every Monday.\n")
    (docs / "blob.txt").write_bytes(b"\x00\x01binary")
    code, out, err = cli("knowledge", "sync", "my-runbooks", str(docs))
    assert code == 1 and out.startswith("2 added, 0 updated, 0 unchanged, 0 removed, 1 failed"), out + err
    assert "runbooks/blob.txt: this is a binary file, not text" in out
    (docs / "blob.txt").unlink()
    (docs / "pager.txt").write_text("Rotate the on-call pager every Tuesday.\n")
    (docs / "restart.md").unlink()
    code, out, err = cli("knowledge", "sync", "my-runbooks", str(docs), "--json")
    report = json.loads(out)
    assert code == 0 and report["updated"] == ["runbooks/pager.txt"], out + err
    assert sorted(report["removed"]) == ["runbooks/blob.txt", "runbooks/restart.md"]
    listed = cli("knowledge", "list", "my-runbooks")[1]
    assert "runbooks/pager.txt" in listed and "restart" not in listed
    assert "Tuesday" in cli("knowledge", "search", "on-call pager", "--namespace", "my-runbooks")[1]

    # The admin's private namespace: the customer never sees its title, chunk or count.
    secret = tmp_path / "merger.md"
    secret.write_text(SECRET)
    code, out, err = cli("knowledge", "add", "admin-notes", str(secret), key=ADMIN_KEY)
    assert code == 0 and out.startswith("1 added"), out + err
    assert "merger.md" in cli("knowledge", "search", CRAFTED, key=ADMIN_KEY)[1]
    code, out, _ = cli("knowledge", "search", CRAFTED, "--json", key=CUSTOMER_KEY)
    assert code == 0 and "merger" not in out.lower() and "falcon" not in out
    assert "admin-notes" not in cli("knowledge", "list", key=CUSTOMER_KEY)[1]
    code, _, err = cli("knowledge", "list", "admin-notes", key=CUSTOMER_KEY)
    assert code == 2 and "no namespace" in err
    code, _, err = cli("knowledge", "remove", "admin-notes", key=CUSTOMER_KEY)
    assert code == 2 and "no namespace" in err
    # Another tenant's member: nothing of the demo tenant.
    made = re.search(r"API key: (\S+)", cli("keys", "--tenant", "globex", "--user", "eve")[1])
    assert made is not None
    eve = made.group(1)
    assert cli("knowledge", "list", key=eve)[1].strip() == "no namespaces"
    assert cli("knowledge", "search", "Slack", key=eve)[1].strip() == "nothing found"

    code, out, _ = cli("knowledge", "remove", "my-runbooks", "runbooks/pager.txt")
    assert code == 0 and "removed runbooks/pager.txt" in out
    assert (
        cli("knowledge", "search", "on-call pager", "--namespace", "my-runbooks")[1].strip()
        == "nothing found"
    )
    assert cli("knowledge", "remove", "my-runbooks")[0] == 0
