"""Run the simulated HIS (MLLP + FHIR) in the foreground until interrupted."""

from __future__ import annotations

import argparse
import contextlib
import signal
import threading
from collections.abc import Sequence

from simulators.his import serve


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulators.his")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--mllp-port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--fhir-port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args(argv)
    his = serve(args.host, args.mllp_port, args.fhir_port)
    host, port = his.mllp.address
    print(f"HIS simulator: MLLP on {host}:{port}, FHIR at {his.fhir.url}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    his.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
