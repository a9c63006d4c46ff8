"""`switchboard knowledge group …` against a running service (the offline demo): an admin puts
alice in a group and a namespace allow-listed to it opens to her at once; a member may not manage
groups; an admin of another tenant cannot reach the demo tenant's people (no such user)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from service.demo import ADMIN_KEY, CUSTOMER_KEY
from tests.service.cli.conftest import Cli


def _search(cli: Cli) -> str:
    return cli(
        "knowledge", "search", "oncall pager rotation", "--namespace", "oncall-book", key=CUSTOMER_KEY
    )[1]


def test_an_admin_manages_groups_and_the_allow_list_follows(cli: Cli, tmp_path: Path) -> None:
    doc = tmp_path / "pager.md"
    doc.write_text("# Pager\n\nThe oncall pager rotation starts on Monday.\n")
    code, out, err = cli(
        "knowledge",
        "add",
        "oncall-book",
        str(doc),
        "--kind",
        "tenant",
        "--allow",
        "group:oncall",
        key=ADMIN_KEY,
    )
    assert code == 0 and out.startswith("1 added"), out + err
    assert "nothing found" in _search(cli)

    code, _, err = cli("knowledge", "group", "add", "oncall", "demo-alice", key=CUSTOMER_KEY)
    assert code != 0 and "only an admin" in err
    code, out, err = cli("knowledge", "group", "add", "oncall", "demo-alice", key=ADMIN_KEY)
    assert code == 0 and "added demo-alice to oncall" in out, out + err
    assert "pager.md" in _search(cli)
    code, out, _ = cli("knowledge", "group", "list", "--json", key=ADMIN_KEY)
    assert json.loads(out) == [{"name": "oncall", "members": ["demo-alice"]}]

    made = re.search(r"API key: (\S+)", cli("keys", "--tenant", "globex", "--user", "root", "--admin")[1])
    assert made is not None, "an admin key of another tenant"
    their_admin = made.group(1)
    code, _, err = cli("knowledge", "group", "add", "oncall", "demo-alice", key=their_admin)
    assert code != 0 and "no user demo-alice" in err
    assert cli("knowledge", "group", "list", key=their_admin)[1].strip() == "no groups"

    code, out, err = cli("knowledge", "group", "remove", "oncall", "demo-alice", key=ADMIN_KEY)
    assert code == 0 and "removed demo-alice from oncall" in out, out + err
    assert "nothing found" in _search(cli)
    code, _, err = cli("knowledge", "group", "add", "oncall", key=ADMIN_KEY)
    assert code == 2 and "needs a group and at least one user id" in err
