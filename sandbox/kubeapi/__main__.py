"""``python -m sandbox.kubeapi --port N [--host H] [--kubeconfig PATH]``: serve until SIGTERM/SIGINT.

Prints exactly one line, ``kubeapi listening on http://H:N``, once the socket accepts
connections (the demo and outside checks wait for it). ``--port 0`` picks a free port and the
line tells which.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from sandbox.kubeapi import kubeconfig
from sandbox.kubeapi.cluster import Cluster
from sandbox.kubeapi.harness import serve
from sandbox.kubeapi.server import KubeApi


async def _main(args: argparse.Namespace) -> None:
    api = KubeApi(Cluster(window=args.watch_window), bookmark_interval=args.bookmark_interval)
    try:
        access_log = None
        if args.access_log:  # to stderr: stdout carries only the one "listening" line
            logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(message)s")
            access_log = logging.getLogger("kubeapi.access")
        runner, port = await serve(api, args.host, args.port, access_log=access_log)
    except OSError as exc:
        raise SystemExit(
            f"kubeapi: cannot listen on {args.host}:{args.port}: {exc.strerror}"
        ) from exc
    url = f"http://{args.host}:{port}"
    if args.kubeconfig:
        kubeconfig.write(Path(args.kubeconfig), url)
    print(f"kubeapi listening on {url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.kubeapi", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--kubeconfig", help="write a kubeconfig pointing at the emulator here")
    parser.add_argument("--watch-window", type=int, default=1000, help="events kept per resource")
    parser.add_argument("--bookmark-interval", type=float, default=60.0, help="seconds")
    parser.add_argument("--access-log", action="store_true", help="log each request to stderr")
    asyncio.run(_main(parser.parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
