"""``python -m drgero_client.sandbox``: serve the sandbox until interrupted."""

from __future__ import annotations

import argparse
import json
import signal
import sys

from drgero_client.sandbox.server import SandboxServer
from drgero_client.sandbox.state import Fault


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m drgero_client.sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--latency-ms", type=int, default=0, help="delay every API call")
    parser.add_argument("--seed", choices=["demo", "empty"], default="demo")
    parser.add_argument("--speed", type=float, default=1.0, help="clock speed factor")
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="JSON",
        help='arm a fault, e.g. \'{"path": "/api/models", "method": "GET", "status": 503}\'',
    )
    parser.add_argument(
        "--force-remote",
        action="store_true",
        help="allow a non-loopback --host (the control API has no authentication)",
    )
    args = parser.parse_args(argv)
    try:
        server = SandboxServer(
            args.host,
            args.port,
            seed=args.seed,
            latency_ms=args.latency_ms,
            speed=args.speed,
            allow_remote=args.force_remote,
        )
    except ValueError as exc:
        print(f"sandbox: {exc}", file=sys.stderr)
        return 2
    for spec in args.fault:
        server.state.arm(Fault(**json.loads(spec)))
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    print(f"Dr.Gero sandbox on {server.url} (seed: {args.seed})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
