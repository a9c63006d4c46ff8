"""`python -m core.scripted_model --script demo.yaml --port 8765`: serve a script until interrupted."""

from __future__ import annotations

import argparse
import signal
import threading
from types import FrameType

from core.scripted_model.script import Script
from core.scripted_model.server import ScriptedModelServer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m core.scripted_model", description=__doc__)
    parser.add_argument("--script", help="YAML script; without it every answer is the default reply")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every request")
    parser.add_argument(
        "--token-latency-ms", type=float, default=0.0, help="between the chunks of a streamed reply"
    )
    args = parser.parse_args(argv)

    script = Script.from_yaml(args.script) if args.script else Script()
    stopping = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    with ScriptedModelServer(
        script, latency_ms=args.latency_ms, token_latency_ms=args.token_latency_ms, port=args.port
    ) as server:
        print(f"scripted model serving {', '.join(script.models)} on {server.base_url}", flush=True)
        # A timed wait so the signal handlers above get to run promptly.
        while not stopping.wait(0.5):
            pass


if __name__ == "__main__":
    main()
