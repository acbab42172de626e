"""Run the simulated BHXH gateway in the foreground until interrupted."""

from __future__ import annotations

import argparse
import contextlib
import signal
import threading
from collections.abc import Sequence

from simulators.bhxh_gateway.dataset import DEFAULT_SCENARIOS, Dataset
from simulators.bhxh_gateway.server import serve


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulators.bhxh_gateway")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    people = parser.add_mutually_exclusive_group()
    people.add_argument(
        "--personas",
        type=int,
        metavar="N",
        help="serve the card simulator's personas 0..N-1 (scenario by seed, see the docs)",
    )
    people.add_argument(
        "--people",
        type=int,
        default=len(DEFAULT_SCENARIOS),
        help="serve N generated people, one per scenario in turn (the default)",
    )
    parser.add_argument("--seed", type=int, default=2024, help="seed of the generated people")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to each call")
    parser.add_argument("--list", action="store_true", help="print the data set and exit")
    args = parser.parse_args(argv)
    if args.personas is not None and args.personas < 0:
        parser.error("--personas must not be negative")
    dataset = (
        Dataset.generated(args.people, args.seed)
        if args.personas is None
        else Dataset.for_personas(range(args.personas))
    )
    if args.list:
        for r in dataset.records:
            p = r.person
            seed = "" if p.seed is None else f"persona {p.seed:<4} "
            print(
                f"{seed}{r.scenario.outcome} linked={r.scenario.linked!s:5} {p.id_number}"
                f" {r.card_number} {p.date_of_birth:%d/%m/%Y} {p.sex} {p.full_name}"
            )
        return 0
    gateway = serve(dataset, host=args.host, port=args.port)
    gateway.simulator.latency = args.latency
    print(f"BHXH gateway simulator listening on {gateway.url}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    gateway.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
