"""The simulated hospital around one kiosk, for ``make run``, the tests and the bench.

:class:`SimulatedHospital` starts and stops a private pcscd with a virtual card slot, the
simulated BHXH gateway and HIS on real sockets, a QR scanner and a ticket printer on
pseudo-terminals, the simulator CSCA, the facility's XML0 signing key (its certificate
registered with the gateway), and writes the kiosk configuration pointing at all of them
(:mod:`simulators.kiosk_config`). Its patients (:mod:`simulators.patients`) are "tapped"
onto the reader as issued cards (with faults when asked); their QR codes are "scanned".
:func:`running_kiosk` opens a kiosk configured for it. The scripted check-in is
:mod:`simulators.scripted`, ``make run`` :mod:`simulators.demo_hospital`.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cardreader.transport.pcsc import wait_for_removal
from simulators.bhxh_gateway import RunningGateway
from simulators.bhxh_gateway import serve as serve_gateway
from simulators.devices import VirtualPrinter, VirtualQrScanner
from simulators.facility_pki import P12_PASSWORD, FacilityPki, make_facility
from simulators.faults import FaultSpec
from simulators.his import RunningHis
from simulators.his import serve as serve_his
from simulators.issuance.card import build_chip, issue_card, sim_pki
from simulators.kiosk_config import FACILITY_CODE, GATEWAY_ACCOUNT, write_kiosk_config
from simulators.patients import PATIENTS, Patient, dataset
from simulators.pcscd import PcscDaemon
from simulators.persona import Persona, make_persona, qr_payload
from simulators.speech import NO_SPEECHD
from simulators.timing import TimedCard, TimingModel
from simulators.vpcd import VirtualReaderSlot

if TYPE_CHECKING:
    from kiosk.qt.app import KioskApp

READER_SETTLE_S = 5.0
"""How long pcscd may take to notice that the hospital's card left (it polls every 0.4 s)."""


@dataclass
class SimulatedHospital:
    """Start with ``with SimulatedHospital(workdir) as hospital:``; pass ``pcscd`` to share
    a running daemon (the tests' session fixture). Several kiosks of one hospital
    (``make run FLEET=N``): each its own ``SimulatedHospital`` with ``shared_with`` the
    first, a ``reader`` of its own and the hospital's ``store_url``."""

    workdir: Path
    pcscd: PcscDaemon | None = None
    patients: tuple[Patient, ...] = PATIENTS
    gateway_latency_s: float = 0.0
    card_timing: TimingModel | None = None
    """With a model, cards answer as slowly as a real chip (``simulators.timing``)."""
    lookup_s: float = 8.0
    idle_s: float = 60.0
    countdown_s: float = 15.0
    facility_type: str = "state"
    """ "non_state": the kiosk asks consent before reading the chip."""
    printer_baudrate: int = 115_200
    """The printer's line, in the kiosk's configuration and in the simulated printer, which
    takes bytes no faster (issue #16: a real serial printer's speed)."""
    speechd_address: str = ""
    """``SPEECHD_ADDRESS`` for its kiosks. Empty: the environment's, and without one an
    address where nothing listens. The simulated hospital never lets a kiosk autospawn the
    machine's speech-dispatcher (:data:`simulators.speech.NO_SPEECHD`): that daemon would
    outlive the run."""
    reader: int = 0
    """Which of the pcscd's two virtual readers (vpcd slots) is this kiosk's."""
    shared_with: SimulatedHospital | None = None
    """A running hospital whose gateway, HIS, facility key and store key this one uses
    instead of starting its own: another kiosk of the same hospital."""
    store_url: str = ""
    """``[store] url`` of the hospital's PostgreSQL store (no password; the kiosk's
    environment needs ``PGPASSWORD``); the kiosk's SQLite file is then its journal."""
    kiosk_id: str = ""
    """``[store] kiosk_id``: this kiosk's name in the hospital (with ``store_url``)."""
    slot: VirtualReaderSlot = field(init=False)
    gateway: RunningGateway = field(init=False)
    his: RunningHis = field(init=False)
    printer: VirtualPrinter = field(init=False)
    scanner: VirtualQrScanner = field(init=False)
    facility: FacilityPki = field(init=False)
    """The facility's XML0 signing key (PKCS#12) and the certificate the gateway knows."""
    config_path: Path = field(init=False)
    env: dict[str, str] = field(init=False)
    _stack: contextlib.ExitStack = field(init=False)

    def __enter__(self) -> SimulatedHospital:
        self._stack = contextlib.ExitStack()
        try:
            self._start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stack.close()

    def _start(self) -> None:
        stack = self._stack
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.pcscd is None:
            self.pcscd = stack.enter_context(PcscDaemon())
        stack.callback(self._wait_reader_empty)  # runs after the slot is closed
        self.slot = stack.enter_context(VirtualReaderSlot(self.pcscd.vpcd_ports[self.reader]))
        shared = self.shared_with
        if shared is None:
            self.gateway = stack.enter_context(serve_gateway(dataset(self.patients)))
            self.gateway.simulator.latency = self.gateway_latency_s
            self.his = stack.enter_context(serve_his())
        else:
            self.gateway, self.his = shared.gateway, shared.his
        self.printer = stack.enter_context(
            VirtualPrinter(self.workdir / "tickets", baudrate=self.printer_baudrate)
        )
        self.scanner = stack.enter_context(VirtualQrScanner())
        csca = sim_pki().csca.write_pem(self.workdir / "csca.pem")
        if shared is None:
            self.facility = make_facility(self.workdir / "facility")
            self.gateway.simulator.register_facility(
                FACILITY_CODE, self.facility.certificate_pem.read_bytes()
            )
        else:
            self.facility = shared.facility
        self.config_path = write_kiosk_config(
            self.workdir / "kiosk.toml",
            reader=self.pcscd.reader_names[self.reader],
            csca=csca,
            scanner=self.scanner.port,
            printer=self.printer.port,
            gateway=self.gateway.url,
            his_port=self.his.mllp.address[1],
            store=self.workdir / "kiosk-store.sqlite3",
            p12=self.facility.p12,
            lookup_s=self.lookup_s,
            idle_s=self.idle_s,
            countdown_s=self.countdown_s,
            facility_type=self.facility_type,
            printer_baudrate=self.printer_baudrate,
            store_url=self.store_url,
            kiosk_id=self.kiosk_id,
        )
        self.env = {
            **os.environ,
            **self.pcscd.client_env(),
            **GATEWAY_ACCOUNT,
            "CCCD_HOSPITAL_KEY": (
                shared.env["CCCD_HOSPITAL_KEY"] if shared else secrets.token_hex(32)
            ),
            "CCCD_XML0_P12_PASSWORD": P12_PASSWORD,
            **{key: os.environ.get(key, value) for key, value in NO_SPEECHD.items()},
        }
        if self.speechd_address:
            self.env["SPEECHD_ADDRESS"] = self.speechd_address

    def _wait_reader_empty(self) -> None:
        """Leave the reader empty as pcscd sees it: it notices a removal only at its next
        poll, and until then the next user of the reader (the next test's kiosk) would be
        told of a card that is gone. Only when this process is a client of its pcscd (the
        fleet demo's kiosks are other processes, each its daemon's)."""
        assert self.pcscd is not None
        if not self.pcscd.client_env().items() <= os.environ.items():
            return
        reader = self.pcscd.reader_names[self.reader]
        if not wait_for_removal(reader, READER_SETTLE_S):
            raise RuntimeError(f"pcscd still reports a card in {reader!r} after the slot closed")

    def tap(
        self, seed: int, faults: tuple[FaultSpec, ...] = (), remove_at: int | None = None
    ) -> None:
        """Place ``seed``'s card on the reader (removing any card there first)."""
        if self.slot.inserted:
            self.slot.remove()
        chip = build_chip(issue_card(self.persona(seed), faults=faults))
        card = (
            chip if self.card_timing is None else TimedCard(chip, self.card_timing, realtime=True)
        )
        self.slot.insert(card, remove_at_apdu=remove_at)

    def remove(self) -> None:
        self.slot.remove()

    def persona(self, seed: int) -> Persona:
        """``seed``'s persona as this hospital's patients have it (a child made younger)."""
        return next((p.persona for p in self.patients if p.seed == seed), make_persona(seed))

    def scan(self, seed: int) -> None:
        """Present ``seed``'s front QR to the scanner."""
        self.scanner.scan(qr_payload(self.persona(seed)))

    def scan_insurance_card(self, seed: int) -> None:
        """Present ``seed``'s BHYT card QR, as the VssID app shows it (docs/domain.md §3.2)."""
        record = self.gateway.simulator.dataset.by_id(self.persona(seed).id_number)
        if record is None:
            raise ValueError(f"persona {seed} has no BHYT record")
        person = record.person
        fields = (
            record.card_number,
            person.full_name.encode().hex(),
            person.date_of_birth.strftime("%d/%m/%Y"),
            "1" if person.sex == "Nam" else "2",
            record.address.encode().hex(),
            record.facility,
            record.valid_from.strftime("%d/%m/%Y"),
            record.valid_to.strftime("%d/%m/%Y"),
        )
        self.scanner.scan("|".join(fields) + "$")

    def gateway_down(self, down: bool = True) -> None:
        self.gateway.simulator.down = down


@contextlib.contextmanager
def running_kiosk(hospital: SimulatedHospital, **kwargs: object) -> Iterator[KioskApp]:
    """A :class:`kiosk.qt.app.KioskApp` configured for ``hospital``."""
    from kiosk.config import load_config
    from kiosk.qt.app import KioskApp

    kiosk = KioskApp(load_config(hospital.config_path), hospital.env, **kwargs)  # type: ignore[arg-type]
    try:
        yield kiosk
    finally:
        kiosk.close()
