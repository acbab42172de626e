"""The staff screen: PIN, then the outbox and XML0 queues, printer, readers and scanner,
reprint and test print.

Every status request and print runs on the worker pool; the dialog only shows answers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QGridLayout, QHBoxLayout, QVBoxLayout, QWidget

from kiosk.admin import AdminStatus, PinGate
from kiosk.app import Services
from kiosk.flow import CheckInFlow
from kiosk.qt.runner import QtRunner
from kiosk.qt.screens import button, label
from kiosk.runner import Outcome

PIN_LENGTH_MAX = 8


def _counts(counts: Mapping[str, int]) -> str:
    """A queue's messages per status, ``delivered: 3, pending: 0, rejected: 0``."""
    return ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "—"


class AdminDialog(QDialog):
    """Modal over the kiosk window; closes itself after the flow's idle timeout."""

    def __init__(
        self,
        parent: QWidget,
        services: Services,
        flow: CheckInFlow,
        runner: QtRunner,
        gate: PinGate,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Quản trị · Staff")
        self.setModal(True)
        self.services, self.flow, self.runner, self.gate = services, flow, runner, gate
        self.pin = ""
        self.setStyleSheet("QDialog { background: #FFFFFF; }")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(40, 32, 40, 32)
        self.heading = label("Nhập mã PIN quản trị · Staff PIN", "title")
        outer.addWidget(self.heading)
        self.pin_display = label("", "digits", wrap=False)
        outer.addWidget(self.pin_display)
        self.message = label("", "subtitle")
        outer.addWidget(self.message)
        self.keypad = QWidget()
        grid = QGridLayout(self.keypad)
        for index, key in enumerate("1234567890"):
            key_button = button(key, role="key")
            key_button.clicked.connect(self._typer(key))
            grid.addWidget(key_button, index // 5, index % 5)
        outer.addWidget(self.keypad)
        self.status = label("", "value")
        self.status.setStyleSheet("font-size: 24px; font-weight: 400;")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.status.hide()
        outer.addWidget(self.status, 1)
        row = QHBoxLayout()
        self.ok = button("OK", primary=True)
        self.ok.clicked.connect(self._submit)
        self.refresh = button("Làm mới · Refresh")
        self.refresh.clicked.connect(self.load_status)
        self.reprint = button("In lại · Reprint")
        self.reprint.clicked.connect(self._reprint)
        self.test_print = button("In thử · Test print")
        self.test_print.clicked.connect(self._test_print)
        close = button("Đóng · Close")
        close.clicked.connect(self.accept)
        for widget in (self.ok, self.refresh, self.reprint, self.test_print, close):
            row.addWidget(widget)
        outer.addLayout(row)
        self._unlocked(False)

    def _typer(self, key: str) -> Callable[[], None]:
        def type_key() -> None:
            if len(self.pin) < PIN_LENGTH_MAX:
                self.pin += key
            self.pin_display.setText("●" * len(self.pin))

        return type_key

    def _unlocked(self, unlocked: bool) -> None:
        for widget in (self.refresh, self.reprint, self.test_print, self.status):
            widget.setVisible(unlocked)
        for widget_ in (self.ok, self.keypad, self.pin_display):
            widget_.setVisible(not unlocked)

    def _submit(self) -> None:
        pin, self.pin = self.pin, ""
        self.pin_display.setText("")
        self.ok.setEnabled(False)
        self.runner.run(lambda: self.gate.check(pin), self._checked)

    def _checked(self, outcome: Outcome[bool]) -> None:
        self.ok.setEnabled(True)
        if outcome.error is None and outcome.unwrap():
            self.heading.setText("Quản trị · Staff")
            self.message.setText("")
            self._unlocked(True)
            self.load_status()
        elif self.gate.locked_for > 0:
            self.message.setText(f"Khoá {self.gate.locked_for:.0f} s · Locked")
        else:
            self.message.setText("Sai mã PIN · Wrong PIN")

    def load_status(self) -> None:
        self.status.setText("…")
        self.runner.run(self.services.status, self._show_status)

    def _show_status(self, outcome: Outcome[AdminStatus]) -> None:
        if outcome.error is not None:
            self.status.setText(f"Lỗi · Error: {outcome.error}")
            return
        status = outcome.unwrap()
        outbox = _counts(status.outbox)
        xml0 = "tắt · off" if status.xml0 is None else _counts(status.xml0)
        printer = status.printer
        printer_text = "không có · none" if printer is None else printer.detail
        if printer is not None and printer.paper_near_end:
            printer_text += " (sắp hết giấy · paper low)"
        readers = ", ".join(status.readers) or status.reader_error or "—"
        lines = [
            f"Hàng đợi HIS · Outbox: {outbox}",
            f"Báo cáo XML0 BHXH · XML0 reports: {xml0}",
            f"Máy in · Printer: {printer_text}",
            f"Đầu đọc · Readers: {readers}",
            f"Máy quét QR · Scanner: {status.scanner}",
            f"Giọng nói · Voice: {status.voice}",
            f"Lưu trữ · Store: {status.store}",
        ]
        if status.card_watcher:
            lines.append(f"Theo dõi thẻ · Card watcher: {status.card_watcher}")
        last = self.flow.last_ticket
        lines.append(f"Phiếu cuối · Last ticket: {last.label if last else '—'}")
        self.status.setText("\n".join(lines))
        self.status.setVisible(True)

    def _reprint(self) -> None:
        ticket = self.flow.last_ticket
        printer = self.services.printer
        if ticket is None or printer is None:
            self.message.setText("Không có phiếu để in · Nothing to reprint")
            return
        self.runner.run(lambda: printer.print_ticket(ticket), self._printed)

    def _test_print(self) -> None:
        self.runner.run(self.services.test_print, self._printed)

    def _printed(self, outcome: Outcome[None]) -> None:
        self.message.setText(
            "Đã in · Printed" if outcome.error is None else f"Lỗi in · {outcome.error}"
        )
