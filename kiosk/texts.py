"""Every word the kiosk shows or says, in Vietnamese (default) and English.

Short sentences, one instruction each, no jargon: many patients are elderly (docs/domain.md §1).
A key missing in one language or with different ``{placeholders}`` fails the tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from hospital_adapter import Priority
from kiosk.config import Language
from kiosk.flow import InsuranceState, Problem, Step

_VI: dict[str, str] = {
    "app.title": "Đăng ký khám bệnh",
    "button.back": "Quay lại",
    "button.cancel": "Huỷ",
    "button.help": "Trợ giúp",
    "button.language": "English",
    "button.done": "Xong",
    "button.home": "Về màn hình đầu",
    "button.continue": "Đúng, tiếp tục",
    "button.delete": "Xoá",
    "button.ok": "Xác nhận",
    "button.yes": "Có",
    "button.no": "Không",
    "idle.title": "Xin chào! Mời bạn đăng ký khám",
    "idle.body": "Quét mã QR trên thẻ căn cước,\nhoặc đặt thẻ lên đầu đọc.",
    "idle.qr": "Quét mã QR trên thẻ",
    "idle.card": "Đặt thẻ lên đầu đọc",
    "idle.or": "hoặc",
    "idle.voice": "Xin mời quét mã QR trên thẻ căn cước, hoặc đặt thẻ lên đầu đọc.",
    "place_card.title": "Mời đặt thẻ căn cước lên đầu đọc",
    "place_card.body": "Giữ yên thẻ trên đầu đọc cho đến khi xong.",
    "place_card.voice": "Mời bạn đặt thẻ căn cước lên đầu đọc.",
    "enter_digits.title": "Nhập 6 số cuối của số căn cước",
    "enter_digits.body": "Số in ở mặt trước thẻ. Hoặc quét mã QR trên thẻ.",
    "enter_digits.rejected": "Số vừa nhập không khớp với thẻ. Còn {left} lần thử.",
    "enter_digits.voice": "Mời bạn nhập 6 số cuối của số căn cước.",
    "reading.title": "Đang đọc thẻ…",
    "reading.body": "Vui lòng giữ yên thẻ trên đầu đọc.",
    "reading.voice": "Đang đọc thẻ. Vui lòng giữ yên thẻ.",
    "identity.title.verified": "Đã xác thực thẻ căn cước",
    "identity.title.untrusted": "Đã đọc thẻ căn cước",
    "identity.greeting": "Xin chào {name}",
    "identity.name": "Họ và tên",
    "identity.birth": "Ngày sinh",
    "identity.sex": "Giới tính",
    "identity.id": "Số căn cước",
    "identity.expired": "Thẻ căn cước đã hết hạn ngày {date}. Vui lòng làm lại thẻ.",
    "identity.photo_pending": "Đang tải ảnh…",
    "identity.voice": "Xin chào. Bạn xem lại thông tin, rồi bấm Tiếp tục.",
    "insurance.title": "Đang kiểm tra bảo hiểm y tế…",
    "insurance.body": "Xin chờ trong giây lát.",
    "insurance.voice": "Đang kiểm tra bảo hiểm y tế. Xin chờ trong giây lát.",
    "kind.title": "Bạn muốn khám theo hình thức nào?",
    "kind.insured": "Thẻ bảo hiểm y tế còn hạn đến {date}.",
    "kind.insured_no_date": "Thẻ bảo hiểm y tế còn hạn.",
    "kind.expired": "Thẻ bảo hiểm y tế đã hết hạn.",
    "kind.not_found": "Chưa tìm thấy thẻ bảo hiểm y tế theo số căn cước.",
    "kind.unavailable": "Chưa kiểm tra được bảo hiểm y tế lúc này.",
    "kind.pending": "Đang kiểm tra bảo hiểm y tế…",
    "kind.insured_button": "Khám BHYT",
    "kind.insured_sub": "Dùng thẻ bảo hiểm y tế",
    "kind.verify_sub": "Kiểm tra BHYT tại quầy số {counter}",
    "kind.self_pay_button": "Khám dịch vụ",
    "kind.self_pay_sub": "Tự chi trả",
    "kind.voice": "Bạn muốn khám bảo hiểm y tế, hay khám dịch vụ?",
    "priority.title": "Bạn có phải là người khuyết tật không?",
    "priority.body": "Người khuyết tật được ưu tiên khám trước.",
    "priority.voice": "Bạn có phải là người khuyết tật không?",
    "department.title": "Chọn khoa khám",
    "department.room": "Phòng {room}",
    "department.voice": "Mời bạn chọn khoa khám.",
    "confirm.title": "Xác nhận đăng ký",
    "confirm.kind": "Hình thức",
    "confirm.department": "Khoa khám",
    "confirm.priority": "Ưu tiên",
    "confirm.button": "Xác nhận và in phiếu",
    "confirm.voice": "Bạn xem lại và bấm Xác nhận để lấy số.",
    "registering.title": "Đang đăng ký…",
    "registering.body": "Xin chờ trong giây lát.",
    "registering.voice": "Đang đăng ký. Xin chờ trong giây lát.",
    "ticket.title": "Số thứ tự của bạn",
    "ticket.where": "{department} — Phòng {room}",
    "ticket.printing": "Đang in phiếu…",
    "ticket.printed": "Mời bạn lấy phiếu và thẻ căn cước.",
    "ticket.no_printer": "Vui lòng ghi nhớ số thứ tự và lấy lại thẻ căn cước.",
    "ticket.print_failed": (
        "Máy in đang lỗi. Vui lòng ghi nhớ số thứ tự. Quầy số {counter} sẽ in phiếu giúp bạn."
    ),
    "ticket.verify_insurance": "Vui lòng đến quầy số {counter} để kiểm tra BHYT trước khi khám.",
    "ticket.priority": "Ưu tiên",
    "ticket.voice": "Số thứ tự của bạn là {number}. Mời bạn đến {department}, phòng {room}.",
    "problem.counter": "Vui lòng đến quầy số {counter}.",
    "problem.retry_card": "Bạn cũng có thể đặt lại thẻ lên đầu đọc để thử lại.",
    "countdown.title": "Bạn còn ở đây không?",
    "countdown.body": "Màn hình sẽ trở về đầu sau {seconds} giây.\nChạm vào màn hình để tiếp tục.",
    "staff.note": "Ghi chú cho nhân viên: {note}",
    "kind.label.insured": "Khám BHYT",
    "kind.label.self_pay": "Khám dịch vụ",
    "priority.label.none": "Không",
    "priority.label.child_under_6": "Trẻ em dưới 6 tuổi",
    "priority.label.aged_80_plus": "Người từ 80 tuổi",
    "priority.label.disability": "Người khuyết tật",
    "sex.Nam": "Nam",
    "sex.Nữ": "Nữ",
    "problem.card_removed.title": "Thẻ đã bị lấy ra khi đang đọc",
    "problem.card_removed.body": "Vui lòng đặt lại thẻ lên đầu đọc và giữ yên cho đến khi xong.",
    "problem.too_many_attempts.title": "Chưa mở được thẻ",
    "problem.too_many_attempts.body": "Số nhập vào không khớp với thẻ. Nhân viên sẽ giúp bạn.",
    "problem.qr_unreadable.title": "Không đọc được mã QR",
    "problem.qr_unreadable.body": "Vui lòng quét mã QR ở mặt trước thẻ căn cước.",
    "problem.qr_mismatch.title": "Mã QR không khớp với thẻ",
    "problem.qr_mismatch.body": "Vui lòng quét mã QR và đặt lên đầu đọc cùng một thẻ.",
    "problem.card_unreadable.title": "Không đọc được thẻ",
    "problem.card_unreadable.body": "Thẻ hoặc đầu đọc đang gặp sự cố. Nhân viên sẽ giúp bạn.",
    "problem.card_invalid.title": "Rất tiếc, máy chưa xác thực được thẻ này",
    "problem.card_invalid.body": "Nhân viên tại quầy sẽ kiểm tra thẻ và đăng ký giúp bạn.",
    "problem.card_untrusted.title": "Máy chưa xác thực được thẻ này",
    "problem.card_untrusted.body": "Nhân viên tại quầy sẽ kiểm tra thẻ và đăng ký giúp bạn.",
    "problem.card_expired.title": "Thẻ căn cước đã hết hạn",
    "problem.card_expired.body": "Nhân viên tại quầy sẽ đăng ký giúp bạn.",
    "problem.identity_inconsistent.title": "Thông tin trên thẻ chưa đầy đủ",
    "problem.identity_inconsistent.body": "Nhân viên tại quầy sẽ đăng ký giúp bạn.",
    "problem.reader_fault.title": "Đầu đọc thẻ đang gặp sự cố",
    "problem.reader_fault.body": "Nhân viên tại quầy sẽ đăng ký giúp bạn.",
    "problem.registration_failed.title": "Chưa đăng ký được",
    "problem.registration_failed.body": "Hệ thống đang gặp sự cố. Nhân viên sẽ đăng ký giúp bạn.",
    "problem.help.title": "Bạn cần hỗ trợ?",
    "problem.help.body": "Nhân viên tại quầy sẽ giúp bạn.",
}

_EN: dict[str, str] = {
    "app.title": "Patient check-in",
    "button.back": "Back",
    "button.cancel": "Cancel",
    "button.help": "Help",
    "button.language": "Tiếng Việt",
    "button.done": "Done",
    "button.home": "Start again",
    "button.continue": "Yes, continue",
    "button.delete": "Delete",
    "button.ok": "OK",
    "button.yes": "Yes",
    "button.no": "No",
    "idle.title": "Welcome! Check in here",
    "idle.body": "Scan the QR code on your ID card,\nor place the card on the reader.",
    "idle.qr": "Scan the card's QR code",
    "idle.card": "Place the card on the reader",
    "idle.or": "or",
    "idle.voice": "Please scan the QR code on your ID card, or place the card on the reader.",
    "place_card.title": "Place your ID card on the reader",
    "place_card.body": "Keep the card still on the reader until we are done.",
    "place_card.voice": "Please place your ID card on the reader.",
    "enter_digits.title": "Enter the last 6 digits of your ID number",
    "enter_digits.body": "They are printed on the front of the card. Or scan the card's QR code.",
    "enter_digits.rejected": "These digits do not match the card. {left} tries left.",
    "enter_digits.voice": "Please enter the last 6 digits of your ID number.",
    "reading.title": "Reading your card…",
    "reading.body": "Please keep the card still on the reader.",
    "reading.voice": "Reading your card. Please keep it still.",
    "identity.title.verified": "ID card verified",
    "identity.title.untrusted": "ID card read",
    "identity.greeting": "Hello, {name}",
    "identity.name": "Full name",
    "identity.birth": "Date of birth",
    "identity.sex": "Sex",
    "identity.id": "ID number",
    "identity.expired": "Your ID card expired on {date}. Please renew it.",
    "identity.photo_pending": "Loading photo…",
    "identity.voice": "Hello. Please check your details, then press Continue.",
    "insurance.title": "Checking your health insurance…",
    "insurance.body": "One moment, please.",
    "insurance.voice": "Checking your health insurance. One moment, please.",
    "kind.title": "How would you like to be seen?",
    "kind.insured": "Your health insurance card is valid until {date}.",
    "kind.insured_no_date": "Your health insurance card is valid.",
    "kind.expired": "Your health insurance card has expired.",
    "kind.not_found": "No health insurance card was found for your ID number.",
    "kind.unavailable": "Your health insurance cannot be checked right now.",
    "kind.pending": "Checking your health insurance…",
    "kind.insured_button": "Health insurance",
    "kind.insured_sub": "Use your BHYT card",
    "kind.verify_sub": "BHYT checked at counter {counter}",
    "kind.self_pay_button": "Self-pay",
    "kind.self_pay_sub": "You pay the fees",
    "kind.voice": "Would you like to use your health insurance, or pay yourself?",
    "priority.title": "Do you have a disability?",
    "priority.body": "People with a disability are seen first.",
    "priority.voice": "Do you have a disability?",
    "department.title": "Choose a department",
    "department.room": "Room {room}",
    "department.voice": "Please choose a department.",
    "confirm.title": "Please confirm",
    "confirm.kind": "Visit",
    "confirm.department": "Department",
    "confirm.priority": "Priority",
    "confirm.button": "Confirm and print",
    "confirm.voice": "Please check, then press Confirm to get your number.",
    "registering.title": "Checking you in…",
    "registering.body": "One moment, please.",
    "registering.voice": "Checking you in. One moment, please.",
    "ticket.title": "Your queue number",
    "ticket.where": "{department} — Room {room}",
    "ticket.printing": "Printing your ticket…",
    "ticket.printed": "Please take your ticket and your ID card.",
    "ticket.no_printer": "Please remember your number and take your ID card.",
    "ticket.print_failed": (
        "The printer is not working. Please remember your number. "
        "Counter {counter} will print your ticket."
    ),
    "ticket.verify_insurance": (
        "Please go to counter {counter} to have your insurance checked first."
    ),
    "ticket.priority": "Priority",
    "ticket.voice": "Your number is {number}. Please go to {department}, room {room}.",
    "problem.counter": "Please go to counter {counter}.",
    "problem.retry_card": "You can also place the card on the reader again to retry.",
    "countdown.title": "Are you still there?",
    "countdown.body": (
        "The screen goes back to the start in {seconds} seconds.\nTouch the screen to continue."
    ),
    "staff.note": "Note for staff: {note}",
    "kind.label.insured": "Health insurance",
    "kind.label.self_pay": "Self-pay",
    "priority.label.none": "None",
    "priority.label.child_under_6": "Child under 6",
    "priority.label.aged_80_plus": "Aged 80 or over",
    "priority.label.disability": "Disability",
    "sex.Nam": "Male",
    "sex.Nữ": "Female",
    "problem.card_removed.title": "The card was taken away while reading",
    "problem.card_removed.body": "Please place the card on the reader again and keep it still.",
    "problem.too_many_attempts.title": "The card could not be opened",
    "problem.too_many_attempts.body": "The digits did not match the card. Our staff will help you.",
    "problem.qr_unreadable.title": "The QR code could not be read",
    "problem.qr_unreadable.body": "Please scan the QR code on the front of your ID card.",
    "problem.qr_mismatch.title": "The QR code does not match the card",
    "problem.qr_mismatch.body": "Please scan the QR code of the card you place on the reader.",
    "problem.card_unreadable.title": "The card could not be read",
    "problem.card_unreadable.body": (
        "The card or the reader has a problem. Our staff will help you."
    ),
    "problem.card_invalid.title": "Sorry, this card could not be verified",
    "problem.card_invalid.body": "Our staff will check the card and check you in.",
    "problem.card_untrusted.title": "This card could not be verified here",
    "problem.card_untrusted.body": "Our staff will check the card and check you in.",
    "problem.card_expired.title": "Your ID card has expired",
    "problem.card_expired.body": "Our staff will check you in.",
    "problem.identity_inconsistent.title": "Some details on the card are missing",
    "problem.identity_inconsistent.body": "Our staff will check you in.",
    "problem.reader_fault.title": "The card reader has a problem",
    "problem.reader_fault.body": "Our staff will check you in.",
    "problem.registration_failed.title": "We could not check you in",
    "problem.registration_failed.body": "The system has a problem. Our staff will check you in.",
    "problem.help.title": "Do you need help?",
    "problem.help.body": "Our staff will help you.",
}

_VOICE_PREFIX = {
    Step.CHOOSE_KIND: "kind",
    Step.CHOOSE_PRIORITY: "priority",
    Step.CHOOSE_DEPARTMENT: "department",
}

CATALOGS: Mapping[Language, Mapping[str, str]] = MappingProxyType(
    {Language.VI: MappingProxyType(_VI), Language.EN: MappingProxyType(_EN)}
)


class Texts:
    """Look texts up in the current language; :meth:`toggle` switches VI ↔ EN."""

    def __init__(self, language: Language = Language.VI) -> None:
        self.language = language

    def __call__(self, key: str, **values: object) -> str:
        return CATALOGS[self.language][key].format(**values)

    def toggle(self) -> None:
        self.language = Language.EN if self.language is Language.VI else Language.VI

    def problem(self, problem: Problem) -> tuple[str, str]:
        """Title and body of ``problem``."""
        return self(f"problem.{problem.value}.title"), self(f"problem.{problem.value}.body")

    def priority(self, priority: Priority) -> str:
        return self(f"priority.label.{priority.value}")

    def insurance(self, state: InsuranceState, valid_to: str = "") -> str:
        if state is InsuranceState.INSURED and not valid_to:
            return self("kind.insured_no_date")
        return self(f"kind.{state.value}", date=valid_to)

    def voice(self, step: Step) -> str | None:
        """The spoken prompt of ``step``; ``None`` for the ticket and problem screens, whose
        prompts carry the number or the counter (built by the UI)."""
        if step in (Step.TICKET, Step.PROBLEM):
            return None
        return self(f"{_VOICE_PREFIX.get(step, step.value)}.voice")
