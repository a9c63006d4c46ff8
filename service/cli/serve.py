"""`switchboard serve`: bind the port first, then build the service and serve on that socket.

The socket is bound before anything else happens: a second `serve` on a taken port fails at once
with a plain sentence, before it says "listening" and before any start-up work (migrations, the
demo tenant, workers), instead of doing all that and then dying in uvicorn. The service and the
web stack are imported only after the bind, so that failure is quick too.
"""

from __future__ import annotations

import errno
import logging
import socket
import sys

log = logging.getLogger("switchboard")

# Open SSE streams would otherwise hold a Ctrl-C until every followed run ends.
_GRACEFUL_SHUTDOWN_S = 3


def serve(host: str | None = None, port: int | None = None, *, model: str | None = None) -> int:
    from core.settings import Settings

    settings = Settings()
    if model:
        settings.model.name = model
    host = host or settings.api.host
    port = port or settings.api.port
    try:
        listener = bind(host, port)
    except OSError as exc:
        print(f"error: {bind_failure(host, port, exc)}", file=sys.stderr)
        return 1

    import uvicorn

    from service.cli.logs import configure_logging
    from service.server import create_app

    configure_logging()
    log.info(
        "Switchboard listening on %s (database %s)", browser_url(host, port), safe_url(settings.database_url)
    )
    log.info("Open %s in a browser to chat with the bots and inspect runs", browser_url(host, port))
    config = uvicorn.Config(
        create_app(settings),
        log_level="info",
        access_log=False,
        timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN_S,
    )
    uvicorn.Server(config).run(sockets=[listener])
    return 0


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket, as uvicorn would bind it (SO_REUSEADDR: a port in TIME_WAIT is free,
    one with a listener is not)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def bind_failure(host: str, port: int, exc: OSError) -> str:
    where = f"{host}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return (
            f"cannot listen on {where}: the port is already in use (is another `switchboard serve` "
            "running?). Stop that process, or choose another port with --port or SWITCHBOARD_API__PORT."
        )
    if exc.errno == errno.EACCES:
        return f"cannot listen on {where}: permission denied (ports below 1024 need privileges); use --port."
    return f"cannot listen on {where}: {exc.strerror or exc}. Check --host and --port."


def browser_url(host: str, port: int) -> str:
    """The page's address as a person types it: a wildcard bind is reached on loopback."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://[{shown}]:{port}/" if ":" in shown else f"http://{shown}:{port}/"


def safe_url(url: str) -> str:
    """The database URL without its password, for logs."""
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://***@{rest.split('@', 1)[1]}"
