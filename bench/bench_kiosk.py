"""Kiosk figures: tap-to-ticket time, memory footprint and start-up time.

Tap to ticket: the scripted check-in of ``simulators.scripted`` (QR scanned, card tapped,
every button pressed as a person would, ticket printed on the pty printer) with cards that
answer as slowly as a real chip (``simulators.timing.TimingModel``: PACE, Chip
Authentication, 8 ms per APDU, 424 kbit/s) and a BHXH gateway latency of 300 ms, through
a real pcscd. Measured from the moment the kiosk sees the card (as a real kiosk's clock
would start: not the simulator issuing the card, nor pcscd's polling before it notices) to
the printed ticket; the patient's own reading and tapping time is not in it (the script
presses each button as soon as it shows: the identity is confirmed while the photo is still
being read, which a patient's reading of the screen covers). Median and p95 over RUNS,
beside the floor measured in the same run: the chip's identity time on the timing model
(``bench_card_read``, the same card profile, PACE with the CAN) plus the ticket's print
time at 115,200 baud.

Ticket printing: one ticket through the simulated printer on a real pty, which takes bytes
no faster than its baud rate (baud / 10 bytes a second), at 19,200 and 115,200 baud; timed
from the kiosk's ``print_ticket`` call to the cut page at the printer. "Old" is the same
ticket as one whole-ticket raster (``GS v 0``, 576 dots wide, the format before issue #16),
"new" the ticket in the printer's fonts with Vietnamese lines as small bands; the goal
is 4 s at 19,200 and 1.5 s at 115,200 baud.

Memory and start-up: a fresh ``python`` process that starts the kiosk as ``python -m
kiosk`` does and shows the window offscreen; RSS read from /proc after the first screen is
drawn, start-up from process launch to that point, beside its peer: a fresh process that
draws one bare Qt window. ``--help``: a fresh ``cccd-kiosk --help`` beside a bare
interpreter start, its peer. Run with ``make bench``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from bench_card_read import STRATEGIES
from bench_card_read import measure as card_read_measure

from kiosk.devices import escpos
from kiosk.devices.printer import EscPosPrinter
from kiosk.devices.ticket_escpos import PrinterProfile, ticket_job
from kiosk.ticket import Ticket
from simulators.devices import VirtualPrinter, decode_escpos
from simulators.hospital import SimulatedHospital, running_kiosk
from simulators.patients import Patient
from simulators.pcscd import PcscDaemon
from simulators.scripted import scripted_check_in
from simulators.timing import TimingModel

RUNS = int(os.environ.get("BENCH_KIOSK_RUNS", "50"))
GATEWAY_LATENCY_S = 0.3
STARTUPS = 5

_STARTUP_SCRIPT = """
import time, sys
t0 = float(sys.argv[1])
from hospital_adapter import environment_problems
from kiosk.config import load_config
from kiosk.qt.app import KioskApp
config = load_config(sys.argv[2])
assert not environment_problems(config)
kiosk = KioskApp.starting(config)  # as python -m kiosk: the rest opens behind the screen
kiosk.window.setFixedSize(1280, 800)
kiosk.show(fullscreen=False)  # returns once the first screen is drawn
ready = time.time() - t0
rss = 0
for line in open("/proc/self/status"):
    if line.startswith("VmRSS:"):
        rss = int(line.split()[1])
print(f"{ready:.3f} {rss}")
assert kiosk.wait_until(kiosk.ready.is_set, 30.0), "the services did not start"
kiosk.close()
"""
"""What ``python -m kiosk`` does up to its first screen (configuration and environment
checked, the flow and the window made, the window shown and drawn); the card backend and
the services it then opens behind the screen (the staff PIN's scrypt check among them) are
waited for before the process closes, outside the figure."""


_BARE_QT_SCRIPT = """
import time, sys
t0 = float(sys.argv[1])
from PySide6.QtWidgets import QApplication, QLabel
app = QApplication([])
window = QLabel("Xin chào")
window.setFixedSize(1280, 800)
window.show()
app.processEvents()
print(f"{time.time() - t0:.3f} 0")
"""
"""The start-up's peer: a fresh interpreter that draws one Qt window, the least any Qt
kiosk pays before its first screen."""


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


BENCH_PATIENTS = tuple(Patient(1000 + run, "000", "insured") for run in range(RUNS))
"""A new insured patient for every run: a re-tap of the same person within the repeat
window would get the stored check-in back and skip the registration being measured."""


def tap_to_ticket(hospital: SimulatedHospital) -> list[float]:
    seeds = [person.seed for person in hospital.patients]
    times: list[float] = []
    with running_kiosk(hospital) as kiosk:
        kiosk.window.setFixedSize(1280, 800)
        kiosk.window.show()
        for run in range(RUNS):
            result = scripted_check_in(
                kiosk, hospital, seeds[run], department="K01", wait_for_photo=False
            )
            if result.problem:
                raise RuntimeError(f"run {run}: ended on {result.problem}")
            times.append(result.tap_to_ticket_s)
            kiosk.flow.dismiss()
            hospital.remove()
            kiosk.wait_until(lambda: not kiosk.flow.card_on_reader, 5.0)
    return times


PRINT_BAUDS = (19_200, 115_200)
PRINT_GOAL_S = {19_200: 4.0, 115_200: 1.5}
PRINT_TICKET = Ticket(
    number=12,
    department_code="K03",
    department_vi="Tai Mũi Họng",
    department_en="Ear, nose and throat",
    room="203",
    issued_at=datetime(2026, 3, 2, 8, 30),
    checkin_id="0123456789abcdef0123456789abcdef",
    insured=True,
)
PRINT_HOSPITAL = "Bệnh viện Đa khoa"


def _whole_ticket_raster(job: bytes) -> bytes:
    """The ticket as one raster image (the old format): the printer's own rendering of
    ``job``, sent back as ``GS v 0`` bands."""
    (page,) = decode_escpos(job)[0].pages
    image = page.image
    width_bytes = image.width // 8
    data = bytes(b ^ 0xFF for b in image.tobytes())  # mode "1": 1 = white
    rows = [data[r * width_bytes : (r + 1) * width_bytes] for r in range(image.height)]
    return escpos.INITIALIZE + escpos.raster(rows, width_bytes) + escpos.feed_and_cut()


def print_seconds(job: bytes, baudrate: int) -> float:
    """Seconds from the print call to the cut page, through the drain-limited pty."""
    with VirtualPrinter(baudrate=baudrate) as device:
        printer = EscPosPrinter(device.port, baudrate=baudrate, timeout_s=60.0)
        try:
            started = time.perf_counter()
            printer.print_job(job)
            if not device.wait_for_pages(1, 120.0):
                raise RuntimeError("the simulated printer cut no page")
            return time.perf_counter() - started
        finally:
            printer.close()


def printing() -> list[dict[str, Any]]:
    """Bytes and print seconds of the ticket, old and new, at each baud rate."""
    new = ticket_job(PRINT_TICKET, PrinterProfile(), PRINT_HOSPITAL)
    jobs = {"old whole-ticket raster": _whole_ticket_raster(new), "new": new}
    return [
        {
            "format": name,
            "baud": baud,
            "bytes": len(job),
            "seconds": print_seconds(job, baud),
            "goal_s": PRINT_GOAL_S[baud],
        }
        for name, job in jobs.items()
        for baud in PRINT_BAUDS
    ]


def startup(
    config: Path, env: dict[str, str], script: str = _STARTUP_SCRIPT
) -> list[tuple[float, int]]:
    """(seconds to the first screen, RSS KiB) of STARTUPS fresh processes of ``script``."""
    out = []
    for _ in range(STARTUPS):
        launched = time.time()
        answer = subprocess.run(
            [sys.executable, "-c", script, str(launched), str(config)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent.parent,
        )
        seconds, rss = answer.stdout.split()[-2:]
        out.append((float(seconds), int(rss)))
    return out


def help_seconds() -> tuple[float, float]:
    """Median seconds of ``cccd-kiosk --help`` and, its peer, of a bare interpreter start."""

    def median_run(args: list[str]) -> float:
        spent = []
        for _ in range(STARTUPS):
            launched = time.perf_counter()
            subprocess.run(args, capture_output=True, check=True)
            spent.append(time.perf_counter() - launched)
        return statistics.median(spent)

    return median_run([sys.executable, "-m", "kiosk", "--help"]), median_run(
        [sys.executable, "-c", "pass"]
    )


def measure() -> tuple[list[float], list[tuple[float, int]], list[tuple[float, int]]]:
    """Tap-to-ticket seconds of every run; (start-up seconds, RSS KiB) of every start, the
    kiosk's and its peer's (a bare Qt window)."""
    with tempfile.TemporaryDirectory(prefix="bench-kiosk-") as tmp, PcscDaemon() as daemon:
        os.environ.update(daemon.client_env())
        with SimulatedHospital(
            Path(tmp),
            pcscd=daemon,
            patients=BENCH_PATIENTS,
            gateway_latency_s=GATEWAY_LATENCY_S,
            card_timing=TimingModel(),
        ) as hospital:
            times = tap_to_ticket(hospital)
            env = {**hospital.env, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
            starts = startup(hospital.config_path, env)
            bare = startup(hospital.config_path, env, _BARE_QT_SCRIPT)
    return times, starts, bare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="the figures as one JSON object")
    as_json = parser.parse_args().json
    times, starts, bare = measure()
    prints = printing()
    chip_s = card_read_measure(STRATEGIES[0])[2]  # the same card profile, PACE with the CAN
    print_s = next(p["seconds"] for p in prints if p["format"] == "new" and p["baud"] == 115_200)
    help_s, python_s = help_seconds()
    seconds = [s for s, _ in starts]
    rss = [r / 1024 for _, r in starts]
    figures: dict[str, Any] = {
        "tap_to_ticket": {
            "runs": RUNS,
            "gateway_latency_s": GATEWAY_LATENCY_S,
            "median_s": statistics.median(times),
            "p95_s": _percentile(times, 0.95),
            "min_s": min(times),
            "max_s": max(times),
            "floor_s": chip_s + print_s,
        },
        "startup": {
            "runs": STARTUPS,
            "median_s": statistics.median(seconds),
            "max_s": max(seconds),
            "bare_qt_s": statistics.median(s for s, _ in bare),
        },
        "rss_mib": {"median": statistics.median(rss), "max": max(rss)},
        "help": {"runs": STARTUPS, "median_s": help_s, "python_s": python_s},
        "printing": prints,
    }
    if as_json:
        print(json.dumps(figures))
        return
    tap = figures["tap_to_ticket"]
    print(
        f"tap to ticket, {RUNS} runs (real-chip timing model, gateway latency "
        f"{GATEWAY_LATENCY_S * 1000:.0f} ms): median {tap['median_s']:.2f} s, "
        f"p95 {tap['p95_s']:.2f} s, min {tap['min_s']:.2f} s, max {tap['max_s']:.2f} s"
    )
    print(
        f"kiosk start-up to first screen, {STARTUPS} fresh processes: median "
        f"{statistics.median(seconds):.2f} s, max {max(seconds):.2f} s"
    )
    for row in prints:
        print(
            f"ticket print, {row['format']}, {row['baud']} baud: {row['bytes']} bytes,"
            f" {row['seconds']:.2f} s (goal {row['goal_s']} s)"
        )
    print(f"cccd-kiosk --help: median {help_s:.3f} s (a bare python start: {python_s:.3f} s)")
    print(
        f"kiosk memory (RSS after the first screen): median "
        f"{statistics.median(rss):.0f} MiB, max {max(rss):.0f} MiB"
    )


if __name__ == "__main__":
    main()
