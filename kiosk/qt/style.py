"""Look and feel: large type, high contrast, big touch targets (docs/domain.md §1).

Colours meet WCAG 2.1 AAA contrast (7:1) for text: blue #0B4F9C and near-black #111827 on
white, white on blue. Sizes are in pixels for a 1280×800 screen and scale with its height.
"""

from __future__ import annotations

from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import QApplication

BLUE = "#0B4F9C"
BLUE_DARK = "#083B75"
INK = "#111827"
GREY = "#374151"
GREEN = "#0F5F2A"
AMBER_BG = "#FFF4CE"
AMBER_INK = "#6B3600"
BASE_HEIGHT = 800

STYLE = """
QWidget#root {{ background: #FFFFFF; }}
QWidget {{ color: {ink}; font-family: "{family}"; }}
QLabel {{ font-size: {body}px; }}
QLabel[role="title"] {{ font-size: {title}px; font-weight: 700; }}
QLabel[role="subtitle"] {{ font-size: {body}px; color: {grey}; }}
QLabel[role="field"] {{ font-size: {small}px; color: {grey}; }}
QLabel[role="value"] {{ font-size: {value}px; font-weight: 700; }}
QLabel[role="name"] {{ font-size: {title}px; font-weight: 700; }}
QLabel[role="verified"] {{ font-size: {body}px; font-weight: 700; color: {green}; }}
QLabel[role="notice"] {{
    font-size: {body}px; color: {amber_ink}; background: {amber_bg};
    border: 3px solid {amber_ink}; border-radius: 14px; padding: 14px 20px;
}}
QLabel[role="counter"] {{
    font-size: {title}px; font-weight: 700; color: {blue}; background: transparent;
    border: none; border-left: 10px solid {blue}; padding: 6px 0 6px 24px;
}}
QLabel[role="number"] {{ font-size: {number}px; font-weight: 800; color: {blue}; }}
QLabel[role="digits"] {{
    font-size: {value}px; font-weight: 700; letter-spacing: 12px;
    border: 3px solid {ink}; border-radius: 12px; padding: 8px 20px; background: #F9FAFB;
}}
QLabel[role="staff"] {{ font-size: {tiny}px; color: {grey}; }}
QLabel[role="photo"] {{
    background: #F3F4F6; border: 3px solid #D1D5DB; border-radius: 10px;
    font-size: {small}px; color: {grey};
}}
QWidget#header {{ background: {blue}; }}
QLabel#headerTitle {{ color: #FFFFFF; font-size: {header}px; font-weight: 700; }}
QPushButton {{
    font-size: {button}px; font-weight: 700; min-height: {target}px; border-radius: 16px;
    padding: 4px 28px; color: {blue}; background: #FFFFFF; border: 3px solid {blue};
}}
QPushButton:pressed {{ background: #DBEAFE; }}
QPushButton[primary="true"] {{ color: #FFFFFF; background: {blue}; border-color: {blue}; }}
QPushButton[primary="true"]:pressed {{ background: {blue_dark}; }}
QPushButton:disabled, QPushButton[primary="true"]:disabled {{
    color: #6B7280; background: #F3F4F6; border-color: #D1D5DB;
}}
QPushButton[role="header"] {{
    color: #FFFFFF; background: transparent; border: 3px solid #FFFFFF;
    min-height: {header_target}px; font-size: {small}px; padding: 4px 22px;
}}
QPushButton[role="key"] {{ font-size: {value}px; min-width: {key}px; min-height: {key_h}px; }}
QPushButton[role="choice"] {{ min-height: {choice}px; }}
QLabel[role="choiceMain"] {{ font-size: {choice_font}px; font-weight: 700; }}
QLabel[role="choiceSub"] {{ font-size: {small}px; }}
QProgressBar {{
    border: 3px solid {blue}; border-radius: 14px; background: #FFFFFF;
    min-height: 40px; max-height: 40px; text-align: center; font-size: {small}px;
}}
QProgressBar::chunk {{ background: {blue}; border-radius: 10px; }}
QWidget#overlay {{ background: rgba(17, 24, 39, 170); }}
QWidget#overlayPanel {{ background: #FFFFFF; border-radius: 24px; }}
"""


def stylesheet(family: str, height: int = BASE_HEIGHT) -> str:
    """The application style sheet for a screen ``height`` pixels high."""
    scale = max(0.75, height / BASE_HEIGHT)

    def px(value: int) -> int:
        return round(value * scale)

    return STYLE.format(
        family=family,
        ink=INK,
        grey=GREY,
        blue=BLUE,
        blue_dark=BLUE_DARK,
        green=GREEN,
        amber_bg=AMBER_BG,
        amber_ink=AMBER_INK,
        title=px(42),
        body=px(28),
        small=px(24),
        tiny=px(18),
        value=px(34),
        number=px(180),
        header=px(30),
        button=px(32),
        target=px(76),
        header_target=px(44),
        choice=px(120),
        choice_font=px(38),
        key=px(150),
        key_h=px(62),
    )


def apply(app: QApplication, family: str, height: int = BASE_HEIGHT) -> str:
    """Set the font and style sheet; returns the family actually used."""
    available = set(QFontDatabase.families())
    used = family if family in available else app.font().family()
    app.setFont(QFont(used, 14))
    app.setStyleSheet(stylesheet(used, height))
    return used
