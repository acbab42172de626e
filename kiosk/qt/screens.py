"""One widget per step of the flow. Each renders a :class:`kiosk.view.View` and nothing else.

One decision per screen, the main action largest and at the bottom right, texts from
:mod:`kiosk.texts`. :meth:`Screen.clear` empties every field that held personal data.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPixmap
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from hospital_adapter import IdentityTrust, VisitKind
from kiosk.config import KioskConfig
from kiosk.flow import BHXH_DIGITS, CAN_DIGITS, ID_DIGITS, CheckInFlow
from kiosk.texts import Texts
from kiosk.view import Fallback, InsuranceState, PrintState, Step, View

PHOTO_W, PHOTO_H = 240, 320


def label(text: str = "", role: str = "", *, wrap: bool = True) -> QLabel:
    widget = QLabel(text)
    if role:
        widget.setProperty("role", role)
    widget.setWordWrap(wrap)
    return widget


def button(text: str = "", *, primary: bool = False, role: str = "") -> QPushButton:
    widget = QPushButton(text)
    widget.setProperty("primary", "true" if primary else "false")
    if role:
        widget.setProperty("role", role)
    widget.setCursor(Qt.CursorShape.PointingHandCursor)
    widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    return widget


class ChoiceButton(QPushButton):
    """A large button with a main line and a smaller explanation under it."""

    def __init__(self, *, primary: bool = False) -> None:
        super().__init__()
        self.setProperty("role", "choice")
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 12, 24, 12)
        layout.setSpacing(6)
        self.main = label(role="choiceMain")
        self.sub = label(role="choiceSub")
        layout.addStretch(1)
        for part in (self.main, self.sub):
            part.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
            part.setAlignment(Qt.AlignmentFlag.AlignCenter)
            layout.addWidget(part)
        layout.addStretch(1)
        self.set_primary(primary)

    def set_primary(self, primary: bool) -> None:
        """Filled blue (the expected choice) or outlined."""
        self.setProperty("primary", "true" if primary else "false")
        self.style().unpolish(self)
        self.style().polish(self)
        colour = "#FFFFFF" if primary else "#0B4F9C"
        for part in (self.main, self.sub):
            part.setStyleSheet(f"color: {colour}; background: transparent;")

    def set_texts(self, main: str, sub: str) -> None:
        self.main.setText(main)
        self.sub.setText(sub)
        self.sub.setVisible(bool(sub))


class Screen(QWidget):
    """Base: a title, a subtitle, a body area and an action row."""

    step: Step

    def __init__(self, flow: CheckInFlow, config: KioskConfig) -> None:
        super().__init__()
        self.flow = flow
        self.config = config
        self.title = label(role="title")
        self.subtitle = label(role="subtitle")
        self.body = QVBoxLayout()
        self.action_row = QHBoxLayout()
        self.action_row.setSpacing(20)
        self.back_button = button()
        self.back_button.clicked.connect(flow.back)
        self.cancel_button = button()
        self.cancel_button.clicked.connect(flow.cancel)
        self.action_row.addWidget(self.back_button)
        self.action_row.addWidget(self.cancel_button)
        self.action_row.addStretch(1)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(48, 24, 48, 24)
        outer.setSpacing(14)
        outer.addWidget(self.title)
        outer.addWidget(self.subtitle)
        outer.addLayout(self.body, 1)
        outer.addLayout(self.action_row)

    def show_view(self, view: View, texts: Texts) -> None:
        raise NotImplementedError

    def show_navigation(self, view: View, texts: Texts) -> None:
        """Back and cancel, where the flow allows them."""
        self.back_button.setText(texts("button.back"))
        self.back_button.setVisible(view.can_go_back)
        self.cancel_button.setText(texts("button.cancel"))
        self.cancel_button.setVisible(
            view.step not in (Step.IDLE, Step.TICKET, Step.PROBLEM, Step.REGISTERING)
        )

    def clear(self) -> None:
        """Forget anything personal shown (called when the flow goes back to idle)."""


class Pictogram(QWidget):
    """A drawn picture: the card's QR code, or the card going onto the reader."""

    def __init__(self, kind: str, size: int = 200) -> None:
        super().__init__()
        self.kind = kind
        self.setFixedSize(size, size)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt API)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        blue = QColor("#0B4F9C")
        side = self.width()
        if self.kind == "qr":
            cell = side // 21
            painter.fillRect(0, 0, side, side, QColor("#FFFFFF"))
            for x, y in ((0, 0), (14, 0), (0, 14)):
                painter.fillRect(x * cell, y * cell, 7 * cell, 7 * cell, blue)
                painter.fillRect(
                    (x + 1) * cell, (y + 1) * cell, 5 * cell, 5 * cell, Qt.GlobalColor.white
                )
                painter.fillRect((x + 2) * cell, (y + 2) * cell, 3 * cell, 3 * cell, blue)
            for n in range(21 * 21):
                x, y = n % 21, n // 21
                finder = (x < 8 and y < 8) or (x > 12 and y < 8) or (x < 8 and y > 12)
                if not finder and (x * 7 + y * 13 + x * y) % 5 < 2:
                    painter.fillRect(x * cell, y * cell, cell, cell, blue)
        else:
            unit = side / 100

            def rect(x: float, y: float, w: float, h: float) -> QRectF:
                return QRectF(x * unit, y * unit, w * unit, h * unit)

            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor("#374151"))
            painter.drawRoundedRect(rect(5, 62, 90, 30), 7, 7)
            painter.setBrush(blue)
            painter.drawRoundedRect(rect(15, 8, 70, 46), 6, 6)
            painter.setBrush(QColor("#E5C07B"))
            painter.drawRoundedRect(rect(24, 20, 18, 14), 2, 2)
            painter.setBrush(QColor("#FFFFFF"))
            painter.drawRect(rect(50, 21, 28, 4))
            painter.drawRect(rect(50, 31, 20, 4))
        painter.end()


class IdleScreen(Screen):
    step = Step.IDLE

    def __init__(self, flow: CheckInFlow, config: KioskConfig) -> None:
        super().__init__(flow, config)
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.subtitle.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title.setStyleSheet("font-size: 50px;")
        self.subtitle.setStyleSheet("font-size: 34px; color: #111827;")
        self.body.addStretch(1)
        row = QHBoxLayout()
        row.setSpacing(24)
        self.captions: list[QLabel] = []
        self.or_label = label(role="subtitle", wrap=False)
        for index, kind in enumerate(("qr", "card")):
            column = QVBoxLayout()
            column.addWidget(Pictogram(kind), 0, Qt.AlignmentFlag.AlignHCenter)
            caption = label(role="value")
            caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
            caption.setStyleSheet("color: #0B4F9C;")
            column.addWidget(caption)
            self.captions.append(caption)
            row.addLayout(column, 1)
            if index == 0:
                row.addWidget(self.or_label, 0, Qt.AlignmentFlag.AlignVCenter)
        self.body.addLayout(row)
        self.body.addStretch(1)
        self.number = button()
        self.number.setMinimumWidth(560)
        self.number.clicked.connect(flow.enter_number)
        self.action_row.addWidget(self.number)

    def show_view(self, view: View, texts: Texts) -> None:
        self.number.setText(texts("idle.number"))
        self.title.setText(texts("idle.title"))
        self.subtitle.setText(texts("idle.body"))
        self.captions[0].setText(texts("idle.qr"))
        self.captions[1].setText(texts("idle.card"))
        self.or_label.setText(texts("idle.or"))


class PlaceCardScreen(Screen):
    step = Step.PLACE_CARD

    def __init__(self, flow: CheckInFlow, config: KioskConfig) -> None:
        super().__init__(flow, config)
        self.arrow = label("⬇", wrap=False)
        self.arrow.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.arrow.setStyleSheet("font-size: 160px; color: #0B4F9C;")
        self.body.addStretch(1)
        self.body.addWidget(self.arrow)
        self.body.addStretch(1)
        self.qr_only = button()
        self.qr_only.setMinimumWidth(560)
        self.qr_only.clicked.connect(flow.use_qr)
        self.action_row.addWidget(self.qr_only)

    def show_view(self, view: View, texts: Texts) -> None:
        self.title.setText(texts("place_card.title"))
        self.subtitle.setText(texts("place_card.body"))
        self.qr_only.setText(texts("place_card.use_qr"))
        self.qr_only.setVisible(view.fallback is Fallback.QR)


class DigitsScreen(Screen):
    """A big keypad: the last 6 digits of the ID number (the CAN, ``enter_digits``), or the
    whole 12-digit number when there is no chip (``enter_number``), where ``also`` (the
    10-digit BHXH number) is taken too unless a BHYT QR was read."""

    def __init__(
        self,
        flow: CheckInFlow,
        config: KioskConfig,
        step: Step,
        length: int,
        submit: Callable[[str], None],
        also: int | None = None,
    ) -> None:
        super().__init__(flow, config)
        self.step, self.length, self.key, self.submit = step, length, step.value, submit
        self.also = also
        self.accepts = {length} if also is None else {length, also}
        self.digits = ""
        self.display = label(role="digits", wrap=False)
        self.display.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.display.setMinimumWidth(420)
        self.rejected = label(role="notice")
        left = QVBoxLayout()
        left.addWidget(self.display)
        left.addWidget(self.rejected)
        left.addStretch(1)
        grid = QGridLayout()
        grid.setSpacing(14)
        self.keys: dict[str, QPushButton] = {}
        for index, key in enumerate("123456789"):
            self._add_key(grid, key, index // 3, index % 3)
        self.delete = button(role="key")
        self.delete.clicked.connect(self._delete)
        grid.addWidget(self.delete, 3, 0)
        self._add_key(grid, "0", 3, 1)
        self.ok = button(primary=True, role="key")
        self.ok.clicked.connect(self._submit)
        grid.addWidget(self.ok, 3, 2)
        row = QHBoxLayout()
        row.addLayout(left, 1)
        row.addSpacing(40)
        row.addLayout(grid)
        self.body.addLayout(row)

    def _add_key(self, grid: QGridLayout, key: str, row: int, col: int) -> None:
        widget = button(key, role="key")
        widget.clicked.connect(lambda: self._type(key))
        grid.addWidget(widget, row, col)
        self.keys[key] = widget

    def _type(self, key: str) -> None:
        if len(self.digits) < self.length:
            self.digits += key
        self._show_digits()

    def _delete(self) -> None:
        self.digits = self.digits[:-1]
        self._show_digits()

    def _submit(self) -> None:
        digits, self.digits = self.digits, ""
        self._show_digits()
        self.submit(digits)

    def _show_digits(self) -> None:
        padded = self.digits.ljust(self.length, "_")
        if self.length > CAN_DIGITS:  # 079 185 012 345: grouped as people read it out
            self.display.setText(" ".join(padded[i : i + 3] for i in range(0, self.length, 3)))
        else:
            self.display.setText(" ".join(padded))
        self.ok.setEnabled(len(self.digits) in self.accepts)

    def show_view(self, view: View, texts: Texts) -> None:
        self.accepts = {self.length}
        if self.also is not None and not view.insurance_qr:
            self.accepts.add(self.also)
        title = "title_insurance_qr" if view.insurance_qr else "title"
        self.title.setText(texts(f"{self.key}.{title}"))
        body = "body_insurance_qr" if view.insurance_qr else "body"
        self.subtitle.setText(texts(f"{self.key}.{body}"))
        self.delete.setText(texts("button.delete"))
        self.ok.setText("OK")
        self.rejected.setVisible(view.digits_rejected)
        self.rejected.setText(texts(f"{self.key}.rejected", left=view.attempts_left))
        self._show_digits()

    def clear(self) -> None:
        self.digits = ""
        self._show_digits()


class BusyScreen(Screen):
    """Reading, waiting for the gateway, registering: a title and a progress bar."""

    def __init__(self, flow: CheckInFlow, config: KioskConfig, step: Step, key: str) -> None:
        super().__init__(flow, config)
        self.step = step
        self.key = key
        self.bar = QProgressBar()
        self.bar.setTextVisible(False)
        self.body.addStretch(1)
        self.body.addWidget(self.bar)
        self.body.addStretch(2)

    def show_view(self, view: View, texts: Texts) -> None:
        self.title.setText(texts(f"{self.key}.title"))
        self.subtitle.setText(texts(f"{self.key}.body"))
        if self.step is Step.READING:
            self.bar.setRange(0, 100)
            self.bar.setValue(round(view.progress * 100))
        else:
            self.bar.setRange(0, 0)  # busy


class IdentityScreen(Screen):
    """Who the chip says the patient is; the photo follows."""

    step = Step.IDENTITY

    def __init__(self, flow: CheckInFlow, config: KioskConfig) -> None:
        super().__init__(flow, config)
        self.photo = label(role="photo")
        self.photo.setFixedSize(PHOTO_W, PHOTO_H)
        self.photo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.fields: dict[str, tuple[QLabel, QLabel]] = {}
        column = QVBoxLayout()
        column.setSpacing(4)
        for key in ("identity.name", "identity.birth", "identity.sex", "identity.id"):
            caption, value = (
                label(role="field"),
                label(role="name" if key == "identity.name" else "value"),
            )
            column.addWidget(caption)
            column.addWidget(value)
            column.addSpacing(10)
            self.fields[key] = (caption, value)
        column.addStretch(1)
        self.expired = label(role="notice")
        column.addWidget(self.expired)
        row = QHBoxLayout()
        row.setSpacing(40)
        row.addWidget(self.photo, 0, Qt.AlignmentFlag.AlignTop)
        row.addLayout(column, 1)
        self.body.addLayout(row)
        self.next = button(primary=True)
        self.next.setMinimumWidth(420)
        self.next.clicked.connect(flow.next)
        self.action_row.addWidget(self.next)

    def show_view(self, view: View, texts: Texts) -> None:
        patient = view.patient
        if patient is None:
            self.clear()
            return
        verified = patient.trust is IdentityTrust.CHIP
        title = "typed_bhxh" if patient.bhxh_number else patient.trust.value
        self.title.setText(("✓ " if verified else "") + texts(f"identity.title.{title}"))
        self.title.setProperty("role", "verified" if verified else "title")
        self.title.setStyleSheet("font-size: 40px;" if verified else "")
        self.subtitle.setText(texts("identity.unverified"))
        self.subtitle.setVisible(not patient.trust.from_chip)
        self.photo.setVisible(patient.trust.from_chip)
        year_only = len(patient.date_of_birth) == 4
        values = {
            "identity.name": patient.full_name,
            "identity.birth": patient.date_of_birth,
            "identity.sex": texts(f"sex.{patient.sex}") if patient.sex else "",
            "identity.id": patient.masked_id,
        }
        captions = {"identity.birth": "identity.birth_year"} if year_only else {}
        if patient.bhxh_number:
            captions["identity.id"] = "identity.bhxh"
        for key, (caption, value) in self.fields.items():
            caption.setText(texts(captions.get(key, key)))
            value.setText(values[key])
            caption.setVisible(bool(values[key]))
            value.setVisible(bool(values[key]))
        if patient.photo is not None:
            pixmap = QPixmap()
            pixmap.loadFromData(patient.photo)
            self.photo.setPixmap(
                pixmap.scaled(
                    PHOTO_W - 6,
                    PHOTO_H - 6,
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
            )
        else:
            self.photo.setPixmap(QPixmap())
            self.photo.setText(texts("identity.photo_pending"))
        expired = patient.card_expired_on
        self.expired.setVisible(expired is not None)
        if expired is not None:
            self.expired.setText(texts("identity.expired", date=expired.strftime("%d/%m/%Y")))
        self.next.setText(texts("button.continue"))

    def clear(self) -> None:
        self.photo.setPixmap(QPixmap())
        self.photo.setText("")
        for _caption, value in self.fields.values():
            value.setText("")
        self.expired.setText("")


class KindScreen(Screen):
    step = Step.CHOOSE_KIND

    def __init__(self, flow: CheckInFlow, config: KioskConfig) -> None:
        super().__init__(flow, config)
        self.status = label(role="notice")
        self.body.addWidget(self.status)
        self.body.addSpacing(16)
        row = QHBoxLayout()
        row.setSpacing(32)
        self.insured = ChoiceButton(primary=True)
        self.self_pay = ChoiceButton()
        self.insured.clicked.connect(lambda: flow.choose_kind(VisitKind.INSURED))
        self.self_pay.clicked.connect(lambda: flow.choose_kind(VisitKind.SELF_PAY))
        row.addWidget(self.insured)
        row.addWidget(self.self_pay)
        self.body.addLayout(row, 1)

    def show_view(self, view: View, texts: Texts) -> None:
        self.title.setText(texts("kind.title"))
        self.subtitle.setVisible(False)
        state = view.insurance or InsuranceState.PENDING
        valid_to = view.insurance_valid_to.strftime("%d/%m/%Y") if view.insurance_valid_to else ""
        self.status.setText(texts.insurance(state, valid_to))
        insured = state is InsuranceState.INSURED
        self.status.setStyleSheet(
            "background: #E8F5EC; color: #0F5F2A; border-color: #0F5F2A;" if insured else ""
        )
        counter = self.config.counters.insurance
        self.insured.set_texts(
            texts("kind.insured_button"),
            texts("kind.insured_sub") if insured else texts("kind.verify_sub", counter=counter),
        )
        self.self_pay.set_texts(texts("kind.self_pay_button"), texts("kind.self_pay_sub"))
        # Filled only where the insurance may well hold: an expired or unknown card must not
        # look chosen already.
        self.insured.set_primary(
            state in (InsuranceState.INSURED, InsuranceState.UNAVAILABLE, InsuranceState.PENDING)
        )


class QuestionScreen(Screen):
    """One yes/no question: two large buttons side by side."""

    yes_key, no_key = "button.yes", "button.no"

    def __init__(self, flow: CheckInFlow, config: KioskConfig) -> None:
        super().__init__(flow, config)
        row = QHBoxLayout()
        row.setSpacing(32)
        self.yes = ChoiceButton()
        self.no = ChoiceButton()
        self.yes.clicked.connect(lambda: self.answer(True))
        self.no.clicked.connect(lambda: self.answer(False))
        row.addWidget(self.yes)
        row.addWidget(self.no)
        self.body.addSpacing(24)
        self.body.addLayout(row, 1)

    def answer(self, yes: bool) -> None:
        raise NotImplementedError

    def show_question(self, title: str, body: str, texts: Texts) -> None:
        self.title.setText(title)
        self.subtitle.setText(body)
        self.yes.set_texts(texts(self.yes_key), "")
        self.no.set_texts(texts(self.no_key), "")


class PriorityScreen(QuestionScreen):
    step = Step.CHOOSE_PRIORITY

    def answer(self, yes: bool) -> None:
        self.flow.answer_priority(yes)

    def show_view(self, view: View, texts: Texts) -> None:
        if view.question is not None:
            key = view.question.value
            self.show_question(texts(f"priority.title.{key}"), texts(f"priority.body.{key}"), texts)


class ConsentScreen(QuestionScreen):
    """What the chip holds and why it is read, before it is (Luật Căn cước 2023 Đ22 k5)."""

    step = Step.CONSENT
    yes_key, no_key = "consent.yes", "consent.no"

    def answer(self, yes: bool) -> None:
        self.flow.answer_consent(yes)

    def show_view(self, view: View, texts: Texts) -> None:
        self.show_question(texts("consent.title"), texts("consent.body"), texts)


class DepartmentScreen(Screen):
    step = Step.CHOOSE_DEPARTMENT

    def __init__(self, flow: CheckInFlow, config: KioskConfig) -> None:
        super().__init__(flow, config)
        grid = QGridLayout()
        grid.setSpacing(20)
        columns = 3 if len(config.departments) > 4 else 2
        self.buttons: list[tuple[str, ChoiceButton]] = []
        for index, department in enumerate(config.departments):
            choice = ChoiceButton()
            choice.clicked.connect(self._chooser(department.code))
            grid.addWidget(choice, index // columns, index % columns)
            self.buttons.append((department.code, choice))
        self.body.addLayout(grid, 1)

    def _chooser(self, code: str) -> Callable[[], None]:
        return lambda: self.flow.choose_department(code)

    def show_view(self, view: View, texts: Texts) -> None:
        self.title.setText(texts("department.title"))
        self.subtitle.setVisible(False)
        for code, choice in self.buttons:
            department = self.config.department(code)
            choice.set_texts(
                department.name(texts.language), texts("department.room", room=department.room)
            )


class ConfirmScreen(Screen):
    step = Step.CONFIRM

    def __init__(self, flow: CheckInFlow, config: KioskConfig) -> None:
        super().__init__(flow, config)
        grid = QGridLayout()
        grid.setHorizontalSpacing(40)
        grid.setVerticalSpacing(18)
        self.rows: list[tuple[QLabel, QLabel]] = []
        for index in range(4):
            caption, value = label(role="field"), label(role="value")
            grid.addWidget(caption, index, 0, Qt.AlignmentFlag.AlignVCenter)
            grid.addWidget(value, index, 1)
            self.rows.append((caption, value))
        grid.setColumnStretch(1, 1)
        self.body.addSpacing(12)
        self.body.addLayout(grid)
        self.body.addStretch(1)
        self.ok = button(primary=True)
        self.ok.setMinimumWidth(520)
        self.ok.clicked.connect(flow.confirm)
        self.action_row.addWidget(self.ok)

    def show_view(self, view: View, texts: Texts) -> None:
        self.title.setText(texts("confirm.title"))
        self.subtitle.setVisible(False)
        department = view.department
        kind = "" if view.kind is None else texts(f"kind.label.{view.kind.value}")
        where = (
            ""
            if department is None
            else texts(
                "ticket.where", department=department.name(texts.language), room=department.room
            )
        )
        name = view.patient.full_name if view.patient is not None else ""
        rows = [
            (texts("identity.name"), name),
            (texts("confirm.kind"), kind),
            (texts("confirm.department"), where),
            (texts("confirm.priority"), texts.priority(view.priority)),
        ]
        for (caption, value), (text_caption, text_value) in zip(self.rows, rows, strict=True):
            caption.setText(text_caption)
            value.setText(text_value)
        self.ok.setText(texts("confirm.button"))

    def clear(self) -> None:
        for _caption, value in self.rows:
            value.setText("")


class TicketScreen(Screen):
    step = Step.TICKET

    def __init__(self, flow: CheckInFlow, config: KioskConfig) -> None:
        super().__init__(flow, config)
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.number = label(role="number", wrap=False)
        self.number.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.where = label(role="value")
        self.where.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.where.setStyleSheet("font-size: 40px;")
        self.verify = label(role="notice")
        self.verify.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.printing = label(role="subtitle")
        self.printing.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.subtitle.setVisible(False)
        self.body.addWidget(self.number)
        self.body.addWidget(self.where)
        self.body.addSpacing(10)
        self.body.addWidget(self.verify)
        self.body.addWidget(self.printing)
        self.body.addStretch(1)
        self.done = button(primary=True)
        self.done.setMinimumWidth(320)
        self.done.clicked.connect(flow.dismiss)
        self.action_row.addWidget(self.done)

    def show_view(self, view: View, texts: Texts) -> None:
        shown = view.ticket
        if shown is None:
            return
        ticket = shown.ticket
        self.title.setText(texts("ticket.title"))
        self.number.setText(ticket.label)
        department = ticket.department_vi if texts.language.value == "vi" else ticket.department_en
        where = texts("ticket.where", department=department, room=ticket.room)
        if ticket.priority:
            where += f"  ·  {texts('ticket.priority')}"
        self.where.setText(where)
        self.verify.setVisible(ticket.verify_insurance_at is not None)
        self.verify.setText(texts("ticket.verify_insurance", counter=ticket.verify_insurance_at))
        message = {
            PrintState.NONE: texts("ticket.no_printer"),
            PrintState.PRINTING: texts("ticket.printing"),
            PrintState.PRINTED: texts("ticket.printed"),
            PrintState.FAILED: texts("ticket.print_failed", counter=self.config.counters.help),
        }[shown.printing]
        self.printing.setText(message)
        self.printing.setStyleSheet(
            "color: #6B3600; font-weight: 700;" if shown.printing is PrintState.FAILED else ""
        )
        self.done.setText(texts("button.done"))


class ProblemScreen(Screen):
    step = Step.PROBLEM

    def __init__(self, flow: CheckInFlow, config: KioskConfig) -> None:
        super().__init__(flow, config)
        self.counter = label(role="counter", wrap=False)
        self.counter.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.retry = label(role="subtitle")
        self.body.addSpacing(20)
        self.body.addWidget(self.counter, 0, Qt.AlignmentFlag.AlignLeft)
        self.body.addSpacing(12)
        self.body.addWidget(self.retry)
        self.body.addStretch(1)
        self.fallback = button()
        self.fallback.setMinimumWidth(420)
        self.fallback.clicked.connect(self._fall_back)
        self.action_row.addWidget(self.fallback)
        self.home = button(primary=True)
        self.home.setMinimumWidth(420)
        self.home.clicked.connect(flow.dismiss)
        self.action_row.addWidget(self.home)

    def _fall_back(self) -> None:
        if self.flow.view.fallback is Fallback.QR:
            self.flow.use_qr()
        else:
            self.flow.enter_number()

    def show_view(self, view: View, texts: Texts) -> None:
        self.fallback.setVisible(view.fallback is not None)
        if view.fallback is not None:
            self.fallback.setText(texts(f"problem.fallback.{view.fallback.value}"))
        if view.problem is None:
            return
        title, body = texts.problem(view.problem)
        self.title.setText(title)
        self.subtitle.setText(body)
        self.subtitle.setVisible(True)
        self.counter.setText(texts("problem.counter", counter=view.counter))
        self.retry.setVisible(view.problem.retry_with_card)
        self.retry.setText(texts("problem.retry_card"))
        self.home.setText(texts("button.home"))


def build_screens(flow: CheckInFlow, config: KioskConfig) -> list[Screen]:
    """Every screen, one per step."""
    return [
        IdleScreen(flow, config),
        PlaceCardScreen(flow, config),
        DigitsScreen(flow, config, Step.ENTER_DIGITS, CAN_DIGITS, flow.submit_digits),
        DigitsScreen(flow, config, Step.ENTER_NUMBER, ID_DIGITS, flow.submit_number, BHXH_DIGITS),
        ConsentScreen(flow, config),
        BusyScreen(flow, config, Step.READING, "reading"),
        IdentityScreen(flow, config),
        BusyScreen(flow, config, Step.INSURANCE, "insurance"),
        KindScreen(flow, config),
        PriorityScreen(flow, config),
        DepartmentScreen(flow, config),
        ConfirmScreen(flow, config),
        BusyScreen(flow, config, Step.REGISTERING, "registering"),
        TicketScreen(flow, config),
        ProblemScreen(flow, config),
    ]
