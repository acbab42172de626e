"""Every benchmark of this folder in one table (issue #7, item 8): ``make bench``.

Each bench script runs as its own process with ``--json`` (so the kiosk's private pcscd and
Qt start clean, as in a real start) and its figures are collected into one table: APDUs and
estimated chip time per read strategy beside its floor, READ BINARY block sizes, host
CPU per verified read beside its cryptographic floor, passive authentication
against ``openssl cms -verify``, store check-ins per second, BHYT lookup latency with and
without the cache, tap-to-ticket, kiosk start-up and memory. The table is printed with the
date and the machine; ``--markdown FILE`` also writes it between the ``bench:begin`` and
``bench:end`` markers of FILE (docs/benchmarks.md). ``--quick`` takes fewer samples.

Run: ``.venv/bin/python bench/report.py [--quick] [--markdown docs/benchmarks.md]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
SCRIPT_TIMEOUT_S = 1800


@dataclass(frozen=True)
class Row:
    area: str
    what: str
    figure: str


@dataclass(frozen=True)
class Bench:
    """A script (run with its defaults, or ``quick`` options and environment with
    ``--quick``) and how its figures become rows."""

    script: str
    rows: Callable[[dict[str, Any]], list[Row]]
    quick: tuple[str, ...] = ()
    quick_env: tuple[tuple[str, str], ...] = ()


def _card_read(data: dict[str, Any]) -> list[Row]:
    area = f"Card read, est. real-chip time (DG2 {data['dg2_bytes']} B)"
    return [
        Row(
            area,
            s["strategy"],
            f"identity {s['identity_apdus']} APDUs (floor {s['identity_floor']},"
            f" {s['identity_apdus'] / s['identity_floor']:.2f}×) {s['identity_s']:.2f} s"
            f" + photo {s['photo_apdus']} APDUs {s['photo_s']:.2f} s = {s['total_s']:.2f} s",
        )
        for s in data["strategies"]
    ]


def _read_blocks(data: dict[str, Any]) -> list[Row]:
    area = f"READ BINARY of a {data['file_bytes'] // 1000} KB EF, BAC SM"
    cards = dict.fromkeys(r["card"] for r in data["rows"])
    return [
        Row(
            area,
            f"APDUs per block size, {card} card",
            " · ".join(
                f"{r['block']}: {'refused' if r['apdus'] is None else r['apdus']}"
                for r in data["rows"]
                if r["card"] == card
            ),
        )
        for card in cards
    ]


def _passive_auth(data: dict[str, Any]) -> list[Row]:
    area = f"Passive authentication vs openssl (best of {data['runs']})"
    return [
        Row(
            area,
            c["card"],
            f"ours {c['ours_ms']:.2f} ms · openssl cms -verify {c['openssl_ms']:.2f} ms"
            f" ({c['openssl_net_ms']:.2f} ms without its start-up)",
        )
        for c in data["cards"]
    ]


def _hospital(data: dict[str, Any]) -> list[Row]:
    store, lookup = data["store"], data["lookup"]
    area = "Hospital adapter"
    rows = [
        Row(
            area,
            f"store check-ins per second ({store['checkins']}, one transaction each)",
            f"{store['per_s']:.0f} /s",
        )
    ]
    latency = f"gateway on 127.0.0.1, {lookup['latency_s'] * 1000:.0f} ms added"
    rows += [
        Row(
            area,
            f"BHYT lookup {r['label']} ({lookup['lookups']} lookups, {latency})",
            f"median {r['median_ms']:.2f} ms · p95 {r['p95_ms']:.2f} ms · max {r['max_ms']:.2f} ms",
        )
        for r in lookup["rows"]
    ]
    return rows


def _fleet(data: dict[str, Any]) -> list[Row]:
    area = "Store check-ins, no HIS send (beside SQLite with as many processes)"
    labels = {"sqlite": "SQLite file", "postgresql": "PostgreSQL direct", "fleet": "FleetStore"}
    sqlite = {r["processes"]: r for r in data["rows"] if r["kind"] == "sqlite"}
    rows = []
    for r in data["rows"]:
        base = sqlite[r["processes"]]
        figure = f"{r['per_s']:.0f} /s · p95 {r['p95_ms']:.2f} ms"
        if r["kind"] != "sqlite":
            figure += (
                f" ({r['per_s'] / base['per_s']:.2f}× throughput,"
                f" {r['p95_ms'] / base['p95_ms']:.2f}× p95)"
            )
        if r["kind"] == "fleet":
            figure += f" · handed on {r['handed_on_s']:.2f} s after the last"
        if r["refused"]:
            figure += f" · {r['refused']} refused"
        rows.append(
            Row(area, f"{labels[r['kind']]}, {r['processes']} proc. ({r['checkins']})", figure)
        )
    return rows


def _read_cpu(data: dict[str, Any]) -> list[Row]:
    area = f"Host CPU per verified read (median of {data['runs']})"
    return [
        Row(
            area,
            f"{c['card']}: reader vs its crypto floor ({c['multiplications']} scalar mult.)",
            f"{c['cpu_ms']:.2f} ms · floor {c['floor_ms']:.2f} ms ({c['ratio']:.2f}×)"
            f" · then its {c['face_format']} face decoded for display {c['display_ms']:.2f} ms"
            f" (read and decode {c['with_display_ratio']:.2f}× the floor)",
        )
        for c in data["cards"]
    ]


def _kiosk(data: dict[str, Any]) -> list[Row]:
    tap, start, rss = data["tap_to_ticket"], data["startup"], data["rss_mib"]
    help_ = data["help"]
    area = "Kiosk"
    return [
        Row(
            area,
            f"tap to printed ticket ({tap['runs']} check-ins, real-chip timing,"
            f" gateway {tap['gateway_latency_s'] * 1000:.0f} ms)",
            f"median {tap['median_s']:.2f} s · p95 {tap['p95_s']:.2f} s"
            f" · min {tap['min_s']:.2f} s · max {tap['max_s']:.2f} s"
            f" · floor {tap['floor_s']:.2f} s (p95 {tap['p95_s'] / tap['floor_s']:.2f}×)",
        ),
        Row(
            area,
            f"start-up to the first screen vs a bare Qt window ({start['runs']} fresh"
            " processes each)",
            f"median {start['median_s']:.2f} s · max {start['max_s']:.2f} s"
            f" · bare Qt window {start['bare_qt_s']:.2f} s"
            f" ({start['median_s'] / start['bare_qt_s']:.1f}×)",
        ),
        Row(
            area,
            f"cccd-kiosk --help vs a bare python start ({help_['runs']} each)",
            f"{help_['median_s']:.3f} s · python {help_['python_s']:.3f} s"
            f" ({help_['median_s'] / help_['python_s']:.1f}×)",
        ),
        Row(
            area,
            "memory, RSS after the first screen",
            f"median {rss['median']:.0f} MiB · max {rss['max']:.0f} MiB",
        ),
        *(
            Row(
                area,
                f"ticket print at {p['baud']} baud, {p['format']} (pty at baud/10 B/s)",
                f"{p['bytes']} B · {p['seconds']:.2f} s · goal {p['goal_s']:.1f} s"
                f" ({p['seconds'] / p['goal_s']:.2f}×)",
            )
            for p in data["printing"]
        ),
    ]


BENCHES = (
    Bench("bench_card_read.py", _card_read),
    Bench("bench_read_blocks.py", _read_blocks),
    Bench("bench_read_cpu.py", _read_cpu, ("--runs", "10")),
    Bench("bench_passive_auth.py", _passive_auth, ("--runs", "10")),
    Bench("bench_hospital.py", _hospital, ("--checkins", "300", "--lookups", "50")),
    Bench("bench_fleet.py", _fleet, ("--checkins", "200", "--checkins-each", "50")),
    Bench("bench_kiosk.py", _kiosk, quick_env=(("BENCH_KIOSK_RUNS", "10"),)),
)


def run(bench: Bench, quick: bool) -> dict[str, Any]:
    """Run ``bench``'s script with ``--json``; its last stdout line is the figures."""
    args, extra = (bench.quick, dict(bench.quick_env)) if quick else ((), {})
    answer = subprocess.run(
        [sys.executable, str(HERE / bench.script), "--json", *args],
        cwd=ROOT,
        env={**os.environ, **extra},
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT_S,
        check=False,
    )
    if answer.returncode != 0:
        raise SystemExit(f"{bench.script} failed ({answer.returncode}):\n{answer.stderr}")
    data: dict[str, Any] = json.loads(answer.stdout.strip().splitlines()[-1])
    return data


def machine() -> str:
    """CPU model and cores, memory, OS, Python and OpenSSL of this machine."""
    cpu = platform.processor() or platform.machine()
    memory = ""
    with open("/proc/cpuinfo", encoding="utf-8") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="utf-8") as info:
        for line in info:
            if line.startswith("MemTotal:"):
                memory = f", {int(line.split()[1]) / 1024**2:.1f} GiB RAM"
                break
    system = platform.system()
    with open("/etc/os-release", encoding="utf-8") as release:
        for line in release:
            if line.startswith("PRETTY_NAME="):
                system = line.split("=", 1)[1].strip().strip('"')
    openssl = "no openssl"
    if binary := shutil.which("openssl"):
        answer = subprocess.run([binary, "version"], capture_output=True, text=True, check=False)
        openssl = " ".join(answer.stdout.split()[:2])
    python = platform.python_version()
    return f"{cpu}, {os.cpu_count()} cores{memory}; {system}; Python {python}; {openssl}"


def text_table(rows: list[Row]) -> str:
    width = max(len(r.what) for r in rows)
    lines, area = [], ""
    for row in rows:
        if row.area != area:
            area = row.area
            lines.append(f"\n{area}")
        lines.append(f"  {row.what:{width}}  {row.figure}")
    return "\n".join(lines).lstrip("\n")


def markdown_table(rows: list[Row]) -> str:
    lines = ["| area | what | figure |", "|---|---|---|"]
    area = ""
    for row in rows:
        shown = row.area if row.area != area else ""
        area = row.area
        lines.append(f"| {shown} | {row.what} | {row.figure} |")
    return "\n".join(lines)


def update_markdown(path: Path, heading: str, rows: list[Row]) -> None:
    """Replace what lies between the markers of ``path`` with ``heading`` and the table."""
    text = path.read_text(encoding="utf-8")
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise SystemExit(f"{path} has no {BEGIN} ... {END} block")
    block = f"{BEGIN}\n{heading}\n\n{markdown_table(rows)}\n"
    path.write_text(text[:start] + block + text[end:], encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples (a quick look)")
    parser.add_argument("--markdown", type=Path, help="also write the table into this file")
    args = parser.parse_args()
    missing = {p.name for p in HERE.glob("bench_*.py")} - {b.script for b in BENCHES}
    if missing:
        raise SystemExit(f"not in the report yet (add to BENCHES): {', '.join(sorted(missing))}")
    started = time.monotonic()
    rows: list[Row] = []
    for bench in BENCHES:
        print(f"running {bench.script} ...", file=sys.stderr, flush=True)
        rows += bench.rows(run(bench, args.quick))
    when = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    heading = f"Measured {when} on {machine()}" + (" (--quick)" if args.quick else "")
    print(f"{heading}\n\n{text_table(rows)}")
    print(f"\n(all benchmarks: {time.monotonic() - started:.0f} s)", file=sys.stderr)
    if args.markdown is not None:
        update_markdown(args.markdown, heading, rows)


if __name__ == "__main__":
    main()
