"""The kiosk window: a header, one screen per step, a staff note line, the idle countdown.

The window only renders the flow's :class:`~kiosk.view.View` and forwards touches to the
flow; it never does I/O. A timer ticks the flow for the idle timeout; any touch anywhere
restarts it. Holding the header title for 3 seconds opens the staff screen (from the
start screen only).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from kiosk.config import KioskConfig, Question
from kiosk.flow import CheckInFlow
from kiosk.qt.screens import Screen, build_screens, button, label
from kiosk.texts import Texts
from kiosk.view import Step, View
from kiosk.voice import Voice

TICK_MS = 250
ADMIN_HOLD_MS = 3000


class Overlay(QWidget):
    """A panel over the whole window, the screen under it kept as it was."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("overlay")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        panel = QWidget()
        panel.setObjectName("overlayPanel")
        panel.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        panel.setMaximumWidth(900)
        self.inner = QVBoxLayout(panel)
        self.inner.setContentsMargins(48, 40, 48, 40)
        self.title = label(role="title")
        self.body = label(role="subtitle")
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        outer.addWidget(panel, 0, Qt.AlignmentFlag.AlignHCenter)
        outer.addStretch(1)
        self.hide()

    def add_centred(self, *parts: QWidget) -> None:
        for part in parts:
            if isinstance(part, QLabel):
                part.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self.inner.addWidget(part, 0, Qt.AlignmentFlag.AlignHCenter)

    def cover(self) -> None:
        parent = self.parentWidget()
        if parent is not None:
            self.setGeometry(parent.rect())
        self.show()
        self.raise_()


class Countdown(Overlay):
    """Covers the window while the idle countdown runs; a touch dismisses it."""

    def __init__(self, parent: QWidget, on_touch: Callable[[], None]) -> None:
        super().__init__(parent)
        self._on_touch = on_touch
        self.seconds = label(role="number", wrap=False)
        self.seconds.setStyleSheet("font-size: 120px;")
        self.add_centred(self.title, self.seconds, self.body)

    def show_seconds(self, seconds: int, texts: Texts) -> None:
        self.title.setText(texts("countdown.title"))
        self.seconds.setText(str(seconds))
        self.body.setText(texts("countdown.body", seconds=seconds))
        self.cover()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        self._on_touch()
        event.accept()


class _HoldButton(QLabel):
    """The header title: a long press emits ``on_hold``."""

    def __init__(self, on_hold: Callable[[], None]) -> None:
        super().__init__()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(ADMIN_HOLD_MS)
        self._timer.timeout.connect(on_hold)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        self._timer.start()
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        self._timer.stop()
        event.accept()


class HelpPanel(Overlay):
    """ "Trợ giúp": which counter helps; "Quay lại" returns to the screen underneath."""

    def __init__(self, parent: QWidget, on_close: Callable[[], None]) -> None:
        super().__init__(parent)
        self.counter = label(role="counter", wrap=False)
        self.back = button(primary=True)
        self.back.setMinimumWidth(360)
        self.back.clicked.connect(on_close)
        self.add_centred(self.title, self.counter, self.body, self.back)

    def show_counter(self, counter: int, texts: Texts) -> None:
        self.title.setText(texts("help.title"))
        self.counter.setText(texts("problem.counter", counter=counter))
        self.body.setText(texts("help.body"))
        self.back.setText(texts("button.back"))
        self.cover()


class KioskWindow(QMainWindow):
    """Renders the flow. ``on_admin`` is called when staff hold the title on the start screen."""

    def __init__(
        self,
        flow: CheckInFlow,
        config: KioskConfig,
        voice: Voice,
        *,
        on_admin: Callable[[], object] | None = None,
    ) -> None:
        super().__init__()
        self.flow = flow
        self.config = config
        self.voice = voice
        self.texts = Texts(config.kiosk.language)
        self._on_admin = on_admin
        self._shown_step: Step | None = None
        self._spoken: tuple[Step, Question | None, int | None] | None = None
        """The screen (its priority question, the help panel) last spoken: once each."""

        root = QWidget()
        root.setObjectName("root")
        root.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        layout = QVBoxLayout(root)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)

        header = QWidget()
        header.setObjectName("header")
        header.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        header_row = QHBoxLayout(header)
        header_row.setContentsMargins(32, 12, 24, 12)
        self.header_title = _HoldButton(self._admin_requested)
        self.header_title.setObjectName("headerTitle")
        self.language = button(role="header")
        self.language.clicked.connect(self.toggle_language)
        self.help = button(role="header")
        self.help.clicked.connect(flow.help)
        header_row.addWidget(self.header_title, 1)
        header_row.addWidget(self.language)
        header_row.addSpacing(12)
        header_row.addWidget(self.help)
        layout.addWidget(header)

        self.stack = QStackedWidget()
        self.screens: dict[Step, Screen] = {}
        for screen in build_screens(flow, config):
            self.stack.addWidget(screen)
            self.screens[screen.step] = screen
        layout.addWidget(self.stack, 1)

        self.staff_note = label(role="staff")
        self.staff_note.setContentsMargins(48, 0, 48, 8)
        layout.addWidget(self.staff_note)

        self.setCentralWidget(root)
        self.countdown = Countdown(root, flow.touch)
        self.help_panel = HelpPanel(root, flow.close_help)

        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(flow.tick)
        self._timer.start()

        flow.subscribe(self.show_view)
        self.show_view(flow.view)

    # -- rendering -------------------------------------------------------------------

    def show_view(self, view: View) -> None:
        if view.step is Step.IDLE and self._shown_step is not Step.IDLE:
            self.texts.language = self.config.kiosk.language  # each patient starts afresh
        self._shown_step = view.step
        texts = self.texts
        self.header_title.setText(texts("app.title"))
        self.language.setText(texts("button.language"))
        self.help.setText(texts("button.help"))
        screen = self.screens[view.step]
        if view.step is Step.IDLE:
            for other in self.screens.values():
                other.clear()
        screen.show_view(view, texts)
        self.stack.setCurrentWidget(screen)
        screen.show_navigation(view, texts)
        note = view.staff_note
        self.staff_note.setText(texts("staff.note", note=note) if note else "")
        self.staff_note.setVisible(bool(note))
        if view.help_counter is not None:
            self.help_panel.show_counter(view.help_counter, texts)
        else:
            self.help_panel.hide()
        if view.countdown is not None:
            self.countdown.show_seconds(view.countdown, texts)
        else:
            self.countdown.hide()
        prompt = (view.step, view.question, view.help_counter)
        if prompt != self._spoken:
            self._spoken = prompt
            self.speak(view)

    def speak(self, view: View) -> None:
        texts = self.texts
        text = texts.voice(view)
        if view.step is Step.TICKET and view.ticket is not None:
            ticket = view.ticket.ticket
            department = (
                ticket.department_vi if texts.language.value == "vi" else ticket.department_en
            )
            text = texts(
                "ticket.voice", number=ticket.number, department=department, room=ticket.room
            )
        elif view.step is Step.PROBLEM and view.problem is not None:
            title, body = texts.problem(view.problem)
            text = f"{title}. {body} {texts('problem.counter', counter=view.counter)}"
        if view.help_counter is not None:
            text = f"{texts('help.title')} {texts('problem.counter', counter=view.help_counter)}"
        if text:
            self.voice.say(text, texts.language)

    def toggle_language(self) -> None:
        self.flow.touch()
        self.texts.toggle()
        self._spoken = None
        self.show_view(self.flow.view)

    def _admin_requested(self) -> None:
        if self.flow.step is Step.IDLE and self._on_admin is not None:
            self._on_admin()

    # -- touches ---------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        """Installed on the application: any press counts as activity."""
        if event.type() in (QEvent.Type.MouseButtonPress, QEvent.Type.TouchBegin):
            self.flow.touch()
        return False

    def resizeEvent(self, event: object) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)  # type: ignore[arg-type]
        central = self.centralWidget()
        for overlay in (self.countdown, self.help_panel):
            if overlay.isVisible() and central is not None:
                overlay.setGeometry(central.rect())
