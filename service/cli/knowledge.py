"""`switchboard knowledge …` through the REST API: add files or folders to a namespace, sync a
folder (upload what changed, remove what is gone), list namespaces or a namespace's documents,
remove a document or a namespace, search as yourself, and (admins) manage the groups that
allow-lists name. Uploads show a progress bar on stderr
(on a terminal); the service skips documents whose content did not change."""

from __future__ import annotations

import argparse
import base64
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from knowledge.formats import format_of
from service.cli.client import Client, ServiceError, path
from service.cli.output import dumps, error, table

KINDS = ("private", "tenant", "channel")


def add_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], *parents: argparse.ArgumentParser
) -> None:
    knowledge = sub.add_parser("knowledge", help="documents the bots search: add, sync, list, remove, search")
    verbs = knowledge.add_subparsers(dest="verb", required=True)

    add = verbs.add_parser(
        "add", help="add files or folders to a namespace (made if missing)", parents=parents
    )
    add.add_argument("namespace")
    add.add_argument("paths", nargs="+", type=Path, help="files (.md .txt .rst .html .pdf) or folders")
    _namespace_flags(add)
    add.add_argument("--json", action="store_true")
    add.set_defaults(handler="service.cli.knowledge:add")

    sync = verbs.add_parser(
        "sync", help="make a namespace match a folder: upload changes, remove deleted files", parents=parents
    )
    sync.add_argument("namespace")
    sync.add_argument("folder", type=Path)
    sync.add_argument("--prefix", help="the documents' source prefix (default: the folder's name)")
    _namespace_flags(sync)
    sync.add_argument("--json", action="store_true")
    sync.set_defaults(handler="service.cli.knowledge:sync")

    listing = verbs.add_parser(
        "list", help="the namespaces you can search, or one's documents", parents=parents
    )
    listing.add_argument("namespace", nargs="?")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler="service.cli.knowledge:list_knowledge")

    remove = verbs.add_parser("remove", help="remove a document, or a whole namespace", parents=parents)
    remove.add_argument("namespace")
    remove.add_argument("source", nargs="?", help="the document's source; without it, the namespace goes")
    remove.add_argument("--json", action="store_true")
    remove.set_defaults(handler="service.cli.knowledge:remove")

    search = verbs.add_parser("search", help="search what you may see, with citations", parents=parents)
    search.add_argument("query")
    search.add_argument("--namespace", action="append", dest="namespaces", help="only this one (repeatable)")
    search.add_argument("--limit", type=int, default=5)
    search.add_argument("--json", action="store_true")
    search.set_defaults(handler="service.cli.knowledge:search")

    group = verbs.add_parser(
        "group", help='who an allow-list\'s "group:<name>" names (admins): list, add, remove', parents=parents
    )
    group.add_argument("action", choices=("list", "add", "remove"))
    group.add_argument("group", nargs="?", help="the group's name (add, remove)")
    group.add_argument("users", nargs="*", metavar="USER_ID", help="user ids of your tenant (add, remove)")
    group.add_argument("--json", action="store_true")
    group.set_defaults(handler="service.cli.knowledge:group")


def _namespace_flags(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument(
        "--kind", choices=KINDS, default="private", help="when the namespace is made (default private)"
    )
    cmd.add_argument("--channel", help='a channel namespace\'s "<surface>:<channel id>"')
    cmd.add_argument(
        "--allow", action="append", default=[], help='"user:<id>" or "group:<name>" (repeatable)'
    )


def add(client: Client, args: argparse.Namespace) -> int:
    _ensure_namespace(client, args)
    files: list[tuple[str, Path]] = []
    for given in args.paths:
        if given.is_dir():
            files.extend((f"{given.name}/{p.relative_to(given).as_posix()}", p) for p in _files(given))
        elif given.is_file():
            files.append((given.name, given))
        else:
            error(f"{given}: no such file or folder")
            return 2
    report = _upload_all(client, args.namespace, files)
    return _print_report(report, args.json)


def sync(client: Client, args: argparse.Namespace) -> int:
    if not args.folder.is_dir():
        error(f"{args.folder}: not a folder")
        return 2
    _ensure_namespace(client, args)
    prefix = (args.prefix or args.folder.resolve().name).rstrip("/")
    files = [(f"{prefix}/{p.relative_to(args.folder).as_posix()}", p) for p in _files(args.folder)]
    report = _upload_all(client, args.namespace, files)
    present = {source for source, _ in files}
    documents = client.get(path("knowledge", "namespaces", args.namespace, "documents"))["documents"]
    for doc in documents:
        if doc["source"].startswith(prefix + "/") and doc["source"] not in present:
            _remove_document(client, args.namespace, doc["source"])
            report["removed"].append(doc["source"])
    return _print_report(report, args.json)


def list_knowledge(client: Client, args: argparse.Namespace) -> int:
    if args.namespace:
        docs = client.get(path("knowledge", "namespaces", args.namespace, "documents"))["documents"]
        if args.json:
            print(dumps(docs))
        elif not docs:
            print("no documents")
        else:
            rows = [[d["source"], d["status"], str(d["chunks"]), d["error"] or ""] for d in docs]
            print(table(["SOURCE", "STATUS", "CHUNKS", "ERROR"], rows, colour_column=1))
        return 0
    found = client.get("/v1/knowledge/namespaces")
    if args.json:
        print(dumps(found))
    elif not found["namespaces"]:
        print("no namespaces")
    else:
        rows = [
            [
                n["name"],
                n["kind"] + (f" {n['channel']}" if n["channel"] else ""),
                str(n["documents"]),
                str(n["chunks"]),
            ]
            for n in found["namespaces"]
        ]
        print(table(["NAMESPACE", "KIND", "DOCUMENTS", "CHUNKS"], rows))
        if found["search"] != "hybrid":
            print("(search is keyword-only: no embeddings endpoint is configured)")
    return 0


def remove(client: Client, args: argparse.Namespace) -> int:
    if args.source:
        _remove_document(client, args.namespace, args.source)
        gone = {"namespace": args.namespace, "source": args.source, "removed": True}
    else:
        client.delete(path("knowledge", "namespaces", args.namespace))
        gone = {"namespace": args.namespace, "removed": True}
    print(dumps(gone) if args.json else f"removed {args.source or 'namespace ' + args.namespace}")
    return 0


def search(client: Client, args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"query": args.query, "limit": args.limit}
    if args.namespaces:
        body["namespaces"] = args.namespaces
    found = client.post("/v1/knowledge/search", body)
    if args.json:
        print(dumps(found))
        return 0
    if found["note"]:
        print(f"({found['note']})")
    if not found["results"]:
        print("nothing found")
    for hit in found["results"]:
        print(f"[{hit['ref']}] {hit['title']} — {hit['section']}  ({hit['source']}, part {hit['position']})")
        text = " ".join(hit["text"].split())
        print(f"    {text[:300]}{'…' if len(text) > 300 else ''}")
    return 0


def group(client: Client, args: argparse.Namespace) -> int:
    if args.action == "list":
        groups = client.get("/v1/knowledge/groups")["groups"]
        if args.json:
            print(dumps(groups))
        elif not groups:
            print("no groups")
        else:
            print(table(["GROUP", "MEMBERS"], [[g["name"], " ".join(g["members"])] for g in groups]))
        return 0
    if not args.group or not args.users:
        error(f"knowledge group {args.action} needs a group and at least one user id")
        return 2
    method = "PUT" if args.action == "add" else "DELETE"
    for user_id in args.users:
        client.request(method, path("knowledge", "groups", args.group, "members", user_id))
        print(
            f"{'added' if method == 'PUT' else 'removed'} {user_id} {'to' if method == 'PUT' else 'from'} {args.group}"
        )
    return 0


def _ensure_namespace(client: Client, args: argparse.Namespace) -> None:
    names = {n["name"] for n in client.get("/v1/knowledge/namespaces")["namespaces"]}
    if args.namespace in names:
        return
    body: dict[str, Any] = {"name": args.namespace, "kind": args.kind, "allow": args.allow}
    if args.channel:
        body["channel"] = args.channel
    try:
        client.post("/v1/knowledge/namespaces", body)
    except ServiceError as exc:
        if exc.status != 409:  # made meanwhile, or one you may manage but not see: upload decides
            raise


def _files(folder: Path) -> Iterator[Path]:
    for p in sorted(folder.rglob("*")):
        if (
            p.is_file()
            and format_of(p.name)
            and not any(part.startswith(".") for part in p.relative_to(folder).parts)
        ):
            yield p


def _upload_all(client: Client, namespace: str, files: list[tuple[str, Path]]) -> dict[str, Any]:
    total: dict[str, Any] = {"added": [], "updated": [], "unchanged": [], "removed": [], "failed": {}}
    route = path("knowledge", "namespaces", namespace, "documents")
    for done, (source, file) in enumerate(files, start=1):
        _bar(done - 1, len(files), source)
        try:
            data = file.read_bytes()
        except OSError as exc:
            total["failed"][source] = f"cannot read it here: {exc.strerror or exc}"
            continue
        body = {"source": source, "content_base64": base64.b64encode(data).decode()}
        try:
            report = client.request("PUT", route, body=body)
        except ServiceError as exc:
            if exc.status not in (413, 422):
                raise
            total["failed"][source] = exc.message
            continue
        for key in ("added", "updated", "unchanged"):
            total[key].extend(report[key])
        total["failed"].update(report["failed"])
        if report["embeddings_error"]:
            total["embeddings_error"] = report["embeddings_error"]
    _bar(len(files), len(files), "")
    return total


def _remove_document(client: Client, namespace: str, source: str) -> None:
    client.request(
        "DELETE", path("knowledge", "namespaces", namespace, "documents"), query={"source": source}
    )


def _bar(done: int, total: int, label: str) -> None:
    """A progress bar on stderr, only on a terminal; cleared at the end."""
    if not sys.stderr.isatty() or total == 0:
        return
    if done >= total:
        print("\r\033[K", end="", file=sys.stderr, flush=True)
        return
    width = 30
    filled = width * done // total
    print(
        f"\r\033[K[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {label[-40:]}",
        end="",
        file=sys.stderr,
        flush=True,
    )


def _print_report(report: dict[str, Any], as_json: bool) -> int:
    if as_json:
        print(dumps(report))
    else:
        counts = ", ".join(f"{len(report[k])} {k}" for k in ("added", "updated", "unchanged", "removed"))
        print(f"{counts}, {len(report['failed'])} failed")
        for source, why in report["failed"].items():
            print(f"  failed {source}: {why}")
        if report.get("embeddings_error"):
            print(f"  vectors pending (keyword search works meanwhile): {report['embeddings_error']}")
    return 1 if report["failed"] else 0
