"""The kiosk's configuration: one TOML file (``kiosk/kiosk.toml`` holds the defaults).

Kiosk tables: ``[kiosk]`` (language, policies), ``[timeouts]``, ``[card]`` (backend and
reader), ``[scanner]`` and ``[printer]`` (serial devices), ``[admin]``, ``[counters]`` and
``[[departments]]``. The hospital adapter's tables ``[gateway]``, ``[his]``, ``[store]``
and ``[hospital]`` are read into :class:`hospital_adapter.config.Settings`. Secrets (the
gateway account, the store key) come from the environment as the adapter documents; the
admin PIN is stored as a SHA-256 hex digest only.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from hospital_adapter.config import (
    GatewaySettings,
    HisSettings,
    HospitalSettings,
    Settings,
    StoreSettings,
)

ENV_CONFIG = "CCCD_KIOSK_CONFIG"
DEFAULT_CONFIG = "kiosk.toml"


class ConfigError(ValueError):
    """The kiosk's TOML file is missing, malformed or inconsistent."""


class Policy(enum.Enum):
    """What to do with a card that is readable but not fully trustworthy."""

    ALLOW = "allow"
    """Go on, with a note for staff (never shown to the patient as "verified")."""
    COUNTER = "counter"
    """Refuse politely and send the patient to the help counter."""


class Language(enum.Enum):
    VI = "vi"
    EN = "en"


@dataclass(frozen=True)
class KioskSettings:
    """``[kiosk]``: behaviour of the flow and the screen."""

    language: Language = Language.VI
    hospital_name: str = "Bệnh viện Đa khoa"
    """Printed at the top of the ticket."""
    untrusted_card: Policy = Policy.ALLOW
    """An unknown CSCA (UNTRUSTED verdict, docs/domain.md §2 "Trust")."""
    expired_card: Policy = Policy.ALLOW
    """An ID card past its expiry date: the ID number stays valid, the card must be renewed."""
    ask_disability: bool = True
    """Ask about the disability priority class (age classes come from the chip)."""
    digit_attempts: int = 3
    """Tries at the last 6 digits before the patient is sent to the counter."""
    masked_digits: int = 4
    """Digits of the ID number left visible on screen."""
    fullscreen: bool = True
    voice: bool = True
    font_family: str = "Noto Sans"


@dataclass(frozen=True)
class Timeouts:
    """``[timeouts]`` in seconds."""

    idle_s: float = 60.0
    """No touch for this long on a screen that waits for the patient: wipe and restart."""
    countdown_s: float = 15.0
    """The last part of ``idle_s``, shown as a countdown the patient can stop."""
    ticket_s: float = 20.0
    problem_s: float = 40.0
    lookup_s: float = 15.0
    """Deadline of the BHYT lookup (the gateway may take up to 60 s; we do not wait that long)."""
    check_in_s: float = 10.0


@dataclass(frozen=True)
class CardSettings:
    """``[card]``: ``backend`` by name (``pcsc``, or an entry point of group
    ``cccd_kiosk.card_backends``); ``reader`` is the PC/SC name, empty for the first one."""

    backend: str = "pcsc"
    reader: str = ""
    transmit_timeout_s: float = 10.0
    poll_s: float = 0.5
    csca: tuple[str, ...] = ()
    """CSCA certificate files or folders (PEM/DER), the trust anchors of passive authentication."""
    master_lists: tuple[str, ...] = ()
    """ICAO CSCA master lists (e.g. the German or Dutch one, docs/domain.md §2 "Trust")."""
    crls: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScannerSettings:
    """``[scanner]``: the 2D QR scanner on a USB-CDC serial port (empty: none)."""

    port: str = ""
    baudrate: int = 9600


@dataclass(frozen=True)
class PrinterSettings:
    """``[printer]``: the ESC/POS thermal printer on a serial port (empty: none)."""

    port: str = ""
    baudrate: int = 19200
    width_dots: int = 576
    """Printable width: 576 dots on 80 mm paper, 384 on 58 mm."""
    timeout_s: float = 5.0


@dataclass(frozen=True)
class AdminSettings:
    """``[admin]``: the staff screen's PIN (SHA-256 hex of it) and its lockout."""

    pin_sha256: str = hashlib.sha256(b"2468").hexdigest()
    attempts: int = 3
    lockout_s: float = 60.0


@dataclass(frozen=True)
class Counters:
    """``[counters]``: counter numbers the patient is sent to."""

    help: int = 1
    """Card problems, anything the kiosk cannot do."""
    insurance: int = 2
    """BHYT to be verified."""


@dataclass(frozen=True)
class Department:
    """One ``[[departments]]`` entry: the HIS code, names and the room."""

    code: str
    name_vi: str
    name_en: str
    room: str

    def name(self, language: Language) -> str:
        return self.name_vi if language is Language.VI else self.name_en


@dataclass(frozen=True)
class KioskConfig:
    kiosk: KioskSettings = KioskSettings()
    timeouts: Timeouts = Timeouts()
    card: CardSettings = CardSettings()
    scanner: ScannerSettings = ScannerSettings()
    printer: PrinterSettings = PrinterSettings()
    admin: AdminSettings = AdminSettings()
    counters: Counters = Counters()
    departments: tuple[Department, ...] = field(
        default=(Department("K01", "Khám Nội", "Internal medicine", "101"),)
    )
    hospital: Settings = field(default_factory=Settings)

    def department(self, code: str) -> Department:
        for department in self.departments:
            if department.code == code:
                return department
        raise KeyError(code)


_T = TypeVar("_T")


def _coerce(expected: Any, raw: object, where: str) -> object:
    if isinstance(expected, enum.Enum):
        try:
            return type(expected)(raw)
        except ValueError:
            choices = ", ".join(str(m.value) for m in type(expected))
            raise ConfigError(f"{where} must be one of {choices}") from None
    kind = type(expected)
    if kind is float and type(raw) is int:
        return float(raw)
    if kind is tuple and isinstance(raw, list) and all(isinstance(v, str) for v in raw):
        return tuple(raw)
    if type(raw) is not kind:
        raise ConfigError(f"{where} must be of type {kind.__name__}")
    return raw


def section(cls: type[_T], table: object, name: str) -> _T:
    """Build dataclass ``cls`` from TOML ``table``, refusing unknown keys and wrong types."""
    if table is None:
        return cls()
    if not isinstance(table, dict):
        raise ConfigError(f"[{name}] must be a table")
    defaults = cls()
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(f"unknown setting(s) in [{name}]: {', '.join(unknown)}")
    values = {
        key: _coerce(getattr(defaults, key), raw, f"[{name}] {key}") for key, raw in table.items()
    }
    return cls(**values)


def _departments(raw: object) -> tuple[Department, ...]:
    if raw is None:
        return KioskConfig().departments
    if not isinstance(raw, list) or not raw:
        raise ConfigError("[[departments]] must list at least one department")
    out: list[Department] = []
    for index, table in enumerate(raw, start=1):
        if not isinstance(table, dict):
            raise ConfigError(f"department {index} must be a table")
        try:
            out.append(Department(**{k: str(v) for k, v in table.items()}))
        except TypeError:
            raise ConfigError(
                f"department {index} needs exactly code, name_vi, name_en and room"
            ) from None
    codes = [d.code for d in out]
    if len(set(codes)) != len(codes):
        raise ConfigError("department codes must be unique")
    return tuple(out)


_TABLES = (
    "kiosk",
    "timeouts",
    "card",
    "scanner",
    "printer",
    "admin",
    "counters",
    "departments",
    "gateway",
    "his",
    "store",
    "hospital",
)


def parse_config(data: Mapping[str, Any]) -> KioskConfig:
    """A :class:`KioskConfig` from parsed TOML; departments must be known to the hospital."""
    unknown = sorted(set(data) - set(_TABLES))
    if unknown:
        raise ConfigError(f"unknown table(s): {', '.join(unknown)}")
    hospital = Settings(
        gateway=section(GatewaySettings, data.get("gateway"), "gateway"),
        his=section(HisSettings, data.get("his"), "his"),
        store=section(StoreSettings, data.get("store"), "store"),
        hospital=section(HospitalSettings, data.get("hospital"), "hospital"),
    )
    departments = _departments(data.get("departments"))
    known = set(hospital.hospital.departments)
    missing = [d.code for d in departments if d.code not in known]
    if missing:
        raise ConfigError(f"department(s) {', '.join(missing)} are not in [hospital] departments")
    timeouts = section(Timeouts, data.get("timeouts"), "timeouts")
    if not 0 < timeouts.countdown_s < timeouts.idle_s:
        raise ConfigError("[timeouts] countdown_s must be between 0 and idle_s")
    return KioskConfig(
        kiosk=section(KioskSettings, data.get("kiosk"), "kiosk"),
        timeouts=timeouts,
        card=section(CardSettings, data.get("card"), "card"),
        scanner=section(ScannerSettings, data.get("scanner"), "scanner"),
        printer=section(PrinterSettings, data.get("printer"), "printer"),
        admin=section(AdminSettings, data.get("admin"), "admin"),
        counters=section(Counters, data.get("counters"), "counters"),
        departments=departments,
        hospital=hospital,
    )


def default_config_text() -> str:
    """The TOML shipped with the kiosk (the defaults, documented)."""
    return resources.files("kiosk").joinpath(DEFAULT_CONFIG).read_text(encoding="utf-8")


def load_config(path: str | Path | None = None, env: Mapping[str, str] = os.environ) -> KioskConfig:
    """Read ``path`` (or ``$CCCD_KIOSK_CONFIG``, or the shipped defaults)."""
    path = path or env.get(ENV_CONFIG)
    try:
        text = default_config_text() if not path else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the configuration {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        where = path or DEFAULT_CONFIG
        raise ConfigError(f"configuration {where} is not valid TOML: {exc}") from None
    return parse_config(data)


def pin_matches(settings: AdminSettings, pin: str) -> bool:
    """Constant-time check of ``pin`` against the configured digest."""
    digest = hashlib.sha256(pin.encode("utf-8")).hexdigest()
    return hmac.compare_digest(digest, settings.pin_sha256.lower())
