"""The ESC/POS ticket printer on a serial port (pyserial).

The port is opened on first use and again after any failure, so a printer switched off
and on again needs no restart of the kiosk. Paper is checked with ``DLE EOT`` before each
ticket: a printer without paper raises :class:`DeviceError` instead of taking the job.
"""

from __future__ import annotations

import contextlib
import logging
import threading

import serial

from kiosk.devices import escpos
from kiosk.devices.errors import DeviceError
from kiosk.devices.ticket_escpos import PrinterProfile, ticket_job
from kiosk.ticket import Ticket

_log = logging.getLogger(__name__)
DEFAULT_PROFILE = PrinterProfile()


class EscPosPrinter:
    """Prints tickets; thread-safe (one job at a time)."""

    def __init__(
        self,
        port: str,
        *,
        baudrate: int = 19200,
        profile: PrinterProfile = DEFAULT_PROFILE,
        timeout_s: float = 5.0,
        hospital_name: str = "",
    ) -> None:
        self.port = port
        self.baudrate = baudrate
        self.profile = profile
        self.timeout_s = timeout_s
        self.hospital_name = hospital_name
        self._serial: serial.Serial | None = None
        self._lock = threading.Lock()

    def _open(self) -> serial.Serial:
        if self._serial is None:
            try:
                self._serial = serial.Serial(
                    self.port,
                    self.baudrate,
                    timeout=self.timeout_s,
                    write_timeout=self.timeout_s,
                )
            except (serial.SerialException, OSError) as exc:
                raise DeviceError(f"printer port {self.port} cannot be opened: {exc}") from None
        return self._serial

    def _drop(self) -> None:
        if self._serial is not None:
            with contextlib.suppress(serial.SerialException, OSError):
                self._serial.close()
            self._serial = None

    def _ask(self, port: serial.Serial, kind: escpos.StatusRequest) -> int:
        port.reset_input_buffer()
        port.write(escpos.status_request(kind))
        answer: bytes = port.read(1)
        if len(answer) != 1:
            raise DeviceError("the printer does not answer (switched off or unplugged?)")
        return answer[0]

    def _status(self, port: serial.Serial) -> escpos.PrinterStatus:
        printer = self._ask(port, escpos.StatusRequest.PRINTER)
        paper = self._ask(port, escpos.StatusRequest.PAPER)
        return escpos.parse_status(printer, paper)

    def status(self) -> escpos.PrinterStatus:
        """Online and paper state (DLE EOT 1 and 4); offline if the port fails."""
        with self._lock:
            try:
                return self._status(self._open())
            except (DeviceError, serial.SerialException, OSError) as exc:
                self._drop()
                return escpos.PrinterStatus(online=False, paper=False, detail=str(exc))

    def print_job(self, job: bytes) -> None:
        """Check the paper (DLE EOT), then send ``job``; it returns once the port has taken
        it (a real printer may still be printing)."""
        with self._lock:
            try:
                port = self._open()
                status = self._status(port)
                if not (status.online and status.paper):
                    raise DeviceError(f"printer not ready: {status.detail}")
                port.write(job)
                port.flush()
            except (serial.SerialException, OSError) as exc:
                self._drop()
                raise DeviceError(f"printing failed: {exc}") from None
        _log.info("ticket sent to the printer (%d bytes)", len(job))

    def print_ticket(self, ticket: Ticket) -> None:
        """The ticket in the printer's fonts where its profile allows (``ticket_job``)."""
        self.print_job(ticket_job(ticket, self.profile, self.hospital_name))

    def close(self) -> None:
        with self._lock:
            self._drop()
