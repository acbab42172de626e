"""The QR scanner and the ESC/POS printer through pyserial on pseudo-terminals."""

from __future__ import annotations

import queue
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image

from kiosk.devices import escpos
from kiosk.devices.errors import DeviceError
from kiosk.devices.printer import EscPosPrinter
from kiosk.devices.scanner import MAX_CODE_BYTES, SerialQrScanner
from kiosk.devices.ticket_image import raster_rows, render_ticket
from kiosk.ticket import Ticket
from simulators.devices import VirtualPrinter, VirtualQrScanner, decode_escpos

TICKET = Ticket(
    number=12,
    department_code="K03",
    department_vi="Tai Mũi Họng",
    department_en="Ear, nose and throat",
    room="203",
    issued_at=datetime(2026, 3, 2, 8, 30),
    checkin_id="0123456789abcdef0123456789abcdef",
    insured=True,
    verify_insurance_at=2,
    priority=True,
)


def test_raster_command_layout() -> None:
    rows = [b"\xff\x00", b"\x0f\xf0", b"\x00\x01"]
    assert escpos.raster(rows, 2) == bytes.fromhex("1d7630 00 0200 0300") + b"".join(rows)
    many = escpos.raster([b"\x00"] * 300, 1)
    assert many.count(escpos.RASTER_PREFIX) == 2
    assert escpos.feed_and_cut(80) == bytes.fromhex("1d564250")
    with pytest.raises(ValueError, match="width_bytes"):
        escpos.raster([b"\x00"], 2)


def test_status_bytes() -> None:
    assert escpos.parse_status(0x12, 0x12) == escpos.PrinterStatus(True, True, False, "ready")
    assert escpos.parse_status(0x12, 0x7E).detail == "paper out"
    assert escpos.parse_status(0x1A, 0x12).detail == "offline"
    assert escpos.parse_status(0x12, 0x1E).paper_near_end
    assert not escpos.parse_status(0xFF, 0x12).online


def test_rendered_rows_decode_back_to_the_same_image() -> None:
    image = render_ticket(TICKET, 576, "Bệnh viện Đa khoa")
    assert image.width == 576 and 700 < image.height < 2000
    rows, width_bytes = raster_rows(image)
    job = escpos.INITIALIZE + escpos.raster(rows, width_bytes) + escpos.feed_and_cut()
    decoded, tail = decode_escpos(job)
    assert tail == b"" and decoded.unknown == 0
    (page,) = decoded.pages
    assert page.size == image.size
    assert page.tobytes() == image.convert("1").tobytes()


def test_decoder_keeps_an_incomplete_command_for_later() -> None:
    rows, width_bytes = raster_rows(Image.new("1", (16, 4), 0))
    job = escpos.raster(rows, width_bytes) + escpos.feed_and_cut()
    state, tail = decode_escpos(job[:10])
    assert tail == job[:10] and not state.pages
    state, tail = decode_escpos(tail + job[10:], state)
    assert tail == b"" and len(state.pages) == 1
    assert state.pages[0].getpixel((0, 0)) == 0  # black


def test_ticket_printed_over_a_pty(tmp_path: Path) -> None:
    with VirtualPrinter(tmp_path) as device:
        printer = EscPosPrinter(device.port, timeout_s=1.0, hospital_name="Bệnh viện")
        assert printer.status() == escpos.PrinterStatus(True, True, False, "ready")
        printer.print_ticket(TICKET)
        assert device.wait_for_pages(1, 5.0)
        assert device.saved == [tmp_path / "ticket-001.png"]
        expected = render_ticket(TICKET, 576, "Bệnh viện")
        assert device.pages[0].tobytes() == expected.tobytes()
        assert device.unknown_bytes == 0
        device.paper = False
        assert printer.status().detail == "paper out"
        with pytest.raises(DeviceError, match="paper out"):
            printer.print_ticket(TICKET)
        device.paper = True
        device.online = False  # a printer that does not answer at all
        assert not printer.status().online
        with pytest.raises(DeviceError, match="does not answer"):
            printer.print_ticket(TICKET)
        device.online = True
        printer.print_ticket(TICKET)
        assert device.wait_for_pages(2, 5.0)
        printer.close()


def test_missing_printer_port() -> None:
    printer = EscPosPrinter("/dev/nonexistent-printer", timeout_s=0.2)
    with pytest.raises(DeviceError, match="cannot be opened"):
        printer.print_ticket(TICKET)
    assert not printer.status().online


def test_scanner_reads_codes_ended_by_cr_and_skips_garbage() -> None:
    codes: queue.Queue[str] = queue.Queue()
    with VirtualQrScanner() as device:
        scanner = SerialQrScanner(device.port, codes.put, poll_s=0.05)
        scanner.start()
        try:
            assert scanner.wait_connected(2.0)
            device.scan("\ufeff079185012345||Nguyễn Thị Hoa|15031985|Nữ|Số 7 Lê Lợi|01022021")
            assert codes.get(timeout=2.0).endswith("Lê Lợi|01022021")
            device.send(b"\xff\xfe\r")  # not UTF-8: dropped
            device.send(b"x" * (MAX_CODE_BYTES + 10) + b"\r")  # too long: dropped
            device.send(b"first\r\nsecond\r")
            assert codes.get(timeout=2.0) == "first"
            assert codes.get(timeout=2.0) == "second"
            assert codes.empty()
            assert scanner.codes_read == 3
        finally:
            scanner.stop()


def test_scanner_without_a_port_keeps_trying() -> None:
    scanner = SerialQrScanner("/dev/nonexistent-scanner", lambda _: None, poll_s=0.05)
    scanner.start()
    try:
        assert not scanner.wait_connected(0.3)
        assert "nonexistent-scanner" in scanner.last_error
    finally:
        scanner.stop()
