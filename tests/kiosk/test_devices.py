"""The QR scanner and the ESC/POS printer through pyserial on pseudo-terminals."""

from __future__ import annotations

import queue
import time
import unicodedata
from datetime import datetime
from pathlib import Path

import pytest
import segno

from kiosk.devices import escpos
from kiosk.devices.errors import DeviceError
from kiosk.devices.printer import EscPosPrinter
from kiosk.devices.scanner import MAX_CODE_BYTES, SerialQrScanner
from kiosk.devices.ticket_escpos import PrinterProfile, encode_cp1258, ticket_job
from kiosk.devices.ticket_image import text_band
from kiosk.ticket import Ticket
from simulators.devices import VirtualPrinter, VirtualQrScanner, decode_escpos
from simulators.devices.printer import Page, Raster

FAST_BAUD = 1_000_000
"""The simulated printer's line where a test needs speed, not a real printer's."""

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
    quadruple = escpos.raster(rows, 2, escpos.RasterScale.QUADRUPLE)
    assert quadruple == bytes.fromhex("1d7630 03 0200 0300") + b"".join(rows)
    many = escpos.raster([b"\x00"] * 300, 1)
    assert many.count(escpos.RASTER_PREFIX) == 2
    assert escpos.feed_and_cut(80) == bytes.fromhex("1d564250")
    with pytest.raises(ValueError, match="width_bytes"):
        escpos.raster([b"\x00"], 2)


def test_text_and_qr_commands() -> None:
    assert escpos.justify(escpos.Justify.CENTER) == bytes.fromhex("1b6101")
    mode = escpos.PrintMode.FONT_B | escpos.PrintMode.EMPHASIZED
    assert escpos.print_mode(mode) == bytes.fromhex("1b2109")
    assert escpos.character_size(6, 6) == bytes.fromhex("1d2155")
    assert escpos.character_size(2, 1) == bytes.fromhex("1d2110")
    assert escpos.reverse(True) + escpos.reverse(False) == bytes.fromhex("1d4201 1d4200")
    assert escpos.code_table(52) + escpos.feed_dots(12) == bytes.fromhex("1b7434 1b4a0c")
    assert escpos.qr_code(b"ab", 6, escpos.QrCorrection.M) == bytes.fromhex(
        "1d286b 0400 3141 3200"  # fn 165: model 2
        "1d286b 0300 3143 06"  # fn 167: 6-dot modules
        "1d286b 0300 3145 31"  # fn 169: level M
        "1d286b 0500 3150 30 6162"  # fn 180: store "ab"
        "1d286b 0300 3151 30"  # fn 181: print
    )
    with pytest.raises(ValueError, match="1 to 8"):
        escpos.character_size(9, 1)


def test_status_bytes() -> None:
    assert escpos.parse_status(0x12, 0x12) == escpos.PrinterStatus(True, True, False, "ready")
    assert escpos.parse_status(0x12, 0x7E).detail == "paper out"
    assert escpos.parse_status(0x1A, 0x12).detail == "offline"
    assert escpos.parse_status(0x12, 0x1E).paper_near_end
    assert not escpos.parse_status(0xFF, 0x12).online


ALL_TEXT = Ticket(
    number=7,
    department_code="K01",
    department_vi="Nội",
    department_en="Internal medicine",
    room="101",
    issued_at=datetime(2026, 3, 2, 8, 5),
    checkin_id="00112233445566778899aabbccddeeff",
    insured=False,
)


def test_the_whole_ticket_in_the_printers_fonts_byte_for_byte() -> None:
    """With a CP1258 table (ESC t 52) and GS ( k, nothing is an image."""
    profile = PrinterProfile(width_dots=384, vietnamese_code_table=52)
    normal, bold, small = b"\x1b!\x00\x1d!\x00", b"\x1b!\x08\x1d!\x00", b"\x1b!\x01\x1d!\x00"
    assert ticket_job(ALL_TEXT, profile, "BV Nhi") == b"".join(
        (
            b"\x1b@\x1bt\x34\x1ba\x01",  # ESC @, ESC t 52 (CP1258), ESC a 1 (centre)
            bold + b"BV NHI\n",
            normal + b"S\xd4\xec TH\xdd\xec T\xdd\xf2\n",  # SỐ THỨ TỰ: Ô Ư + tone marks
            normal + b"QUEUE NUMBER\n",
            b"\x1b!\x08\x1d!\x55007\n",  # emphasized, GS ! 6 × 6
            b"\x1b!\x08\x1d!\x11N\xf4\xf2i\n",  # Nội, double width and height
            normal + b"Internal medicine\n",
            b"\x1b!\x08\x1d!\x11Pho\xccng 101\n",  # Phòng
            bold + b"Room 101\n",
            normal + b"Kh\xe1m di\xf2ch vu\xf2\n",  # Khám dịch vụ
            normal + b"Self-pay\n",
            bold + b"08:05  02/03/2026\n",
            b"\x1bJ\x0c",
            escpos.qr_code(b"00112233445566778899aabbccddeeff", 6, escpos.QrCorrection.M),
            b"\x1bJ\x0c",
            small + b"Vui lo\xccng gi\xfd\xde phi\xea\xecu \xf0\xea\xecn khi kh\xe1m xong.",
            b"\n\x1dVBP",  # GS V 66 80: feed and cut
        )
    )
    (page,), _ = _decoded(ticket_job(ALL_TEXT, profile, "BV Nhi"))
    assert page.lines == (
        "BV NHI",
        "SỐ THỨ TỰ",
        "QUEUE NUMBER",
        "007",
        "Nội",
        "Internal medicine",
        "Phòng 101",
        "Room 101",
        "Khám dịch vụ",
        "Self-pay",
        "08:05  02/03/2026",
        "Vui lòng giữ phiếu đến khi khám xong.",
    )
    assert page.qr_codes == (b"00112233445566778899aabbccddeeff",) and page.rasters == ()


def test_every_vietnamese_letter_goes_through_cp1258() -> None:
    letters = "aăâeêioôơuưyđ"
    tones = ("", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323")
    for letter in letters + letters.upper():
        for tone in tones if letter not in "đĐ" else ("",):
            text = unicodedata.normalize("NFC", letter + tone)
            encoded = encode_cp1258(text)
            assert encoded is not None and len(encoded) <= 2, text
            assert unicodedata.normalize("NFC", encoded.decode("cp1258")) == text
    assert encode_cp1258("Tai Mũi Họng") == b"Tai Mu\xdei Ho\xf2ng"
    assert encode_cp1258("東京") is None


def _decoded(job: bytes) -> tuple[list[Page], int]:
    state, tail = decode_escpos(job)
    assert tail == b""
    assert all(page.data == job for page in state.pages)
    return state.pages, state.unknown


def test_only_the_vietnamese_lines_are_images() -> None:
    """Default profile (no CP1258 table): ASCII as text, Vietnamese as small bands."""
    job = ticket_job(TICKET, PrinterProfile(), "Bệnh viện Đa khoa")
    assert len(job) < 6000
    (page,), unknown = _decoded(job)
    assert unknown == 0
    assert page.lines == (
        "QUEUE NUMBER",
        "012",
        "PRIORITY",
        "Ear, nose and throat",
        "Room 203",
        "Health insurance",
        "Have BHYT checked at counter 2 first",
        "08:30  02/03/2026",
    )
    assert page.qr_codes == (b"0123456789abcdef0123456789abcdef",)
    bands = [
        (text_band("BỆNH VIỆN ĐA KHOA", 576, bold=True), 0),
        (text_band("SỐ THỨ TỰ", 576), 0),
        (text_band("ƯU TIÊN", 576, bold=True, inverted=True), 0),
        (text_band("Tai Mũi Họng", 288, bold=True), 3),
        (text_band("Phòng 203", 288, bold=True), 3),
        (text_band("Khám BHYT", 576), 0),
        (text_band("Đến quầy số 2 kiểm tra BHYT trước khi khám", 576, bold=True, inverted=True), 0),
        (text_band("Vui lòng giữ phiếu đến khi khám xong.", 576, small=True), 0),
    ]
    assert page.rasters == tuple(Raster(scale, b.width_bytes, b.rows) for b, scale in bands)
    assert all(len(r.rows) <= 40 for r in page.rasters)  # one line each, not the ticket
    assert page.image.width == 576 and 700 < page.image.height < 1000


def test_raster_qr_where_the_printer_has_no_qr_command() -> None:
    (page,), _ = _decoded(ticket_job(TICKET, PrinterProfile(native_qr=False)))
    assert page.qr_codes == ()
    qr = page.rasters[-2]  # before the footer
    matrix = segno.make(TICKET.checkin_id, error="m", micro=False).matrix
    assert qr.scale == escpos.RasterScale.QUADRUPLE and len(qr.rows) == 3 * len(matrix)
    for y, modules in enumerate(matrix):
        bits = int.from_bytes(qr.rows[3 * y], "big")
        dots = [bits >> (qr.width_bytes * 8 - 1 - 3 * x) & 1 for x in range(len(modules))]
        assert dots == [int(bool(dark)) for dark in modules]


def test_decoder_keeps_an_incomplete_command_for_later() -> None:
    job = escpos.raster([b"\xff\xff"] * 4, 2) + escpos.feed_and_cut()
    state, tail = decode_escpos(job[:10])
    assert tail == job[:10] and not state.pages
    state, tail = decode_escpos(tail + job[10:], state)
    assert tail == b"" and len(state.pages) == 1
    assert state.pages[0].image.getpixel((0, 0)) == 0  # black


def test_ticket_printed_over_a_pty(tmp_path: Path) -> None:
    with VirtualPrinter(tmp_path, baudrate=FAST_BAUD) as device:
        printer = EscPosPrinter(
            device.port, baudrate=FAST_BAUD, timeout_s=1.0, hospital_name="Bệnh viện"
        )
        assert printer.status() == escpos.PrinterStatus(True, True, False, "ready")
        printer.print_ticket(TICKET)
        assert device.wait_for_pages(1, 5.0)
        assert device.saved == [tmp_path / "ticket-001.png"]
        (page,) = device.printed
        assert page.data == ticket_job(TICKET, PrinterProfile(), "Bệnh viện")
        assert page.qr_codes == (TICKET.checkin_id.encode(),) and "012" in page.lines
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


def test_the_simulated_printer_takes_bytes_at_its_baud_rate() -> None:
    """9600 baud: 960 bytes a second; a 1,440-byte job takes 1.5 s to arrive."""
    job = escpos.INITIALIZE + b"x" * 1433 + escpos.LINE_FEED + escpos.feed_and_cut()
    assert len(job) == 1440
    with VirtualPrinter(baudrate=9600) as device:
        printer = EscPosPrinter(device.port, baudrate=9600, timeout_s=5.0)
        started = time.perf_counter()
        printer.print_job(job)
        sent = time.perf_counter() - started
        assert device.wait_for_pages(1, 5.0)
        arrived = time.perf_counter() - started
        printer.close()
    assert sent < 1.0  # the pty holds the job, as a serial driver's buffer would
    assert 1.5 <= arrived < 2.5


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
