"""`switchboard discord`: the Discord gateway client on its own, without the HTTP service.

One process per Discord application should listen on the gateway (each would receive every
event). This one also delivers the Discord outbox and, without a broker, runs steps in process
with a sweeper, like `switchboard worker`; with a broker the Celery workers run the steps.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from core.settings import Settings
from service.cli.logs import configure_logging
from service.composition import build_service

log = logging.getLogger("switchboard.discord")


async def discord_gateway(_: argparse.Namespace) -> int:
    configure_logging()
    settings = Settings()
    if not settings.discord.enabled:
        print(
            "error: set SWITCHBOARD_DISCORD__TOKEN to the bot's token (see manifests/discord.md)",
            file=sys.stderr,
        )
        return 2
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    svc = await build_service(settings)
    try:
        await svc.start(sweep=not settings.broker_url, listen=True)
        log.info("listening on the Discord gateway")
        await stop.wait()
    finally:
        await svc.stop()
    return 0
