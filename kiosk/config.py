"""The kiosk's configuration: one TOML file (``kiosk/kiosk.toml`` holds the defaults).

:class:`KioskConfig` extends the hospital adapter's schema
(:class:`hospital_adapter.config.Settings`: ``[gateway]``, ``[his]``, ``[store]``,
``[hospital]``) with the kiosk's tables: ``[kiosk]`` (language, policies), ``[priority]``,
``[timeouts]``, ``[card]`` (backend and reader), ``[scanner]`` and ``[printer]`` (serial devices),
``[admin]``, ``[counters]`` and ``[[departments]]``. It is read by the adapter's loader,
so both report every problem with its key in one
:class:`~hospital_adapter.errors.ConfigurationError`. Secrets (the gateway account, the
store key) come from the environment as the adapter documents; the staff PIN is stored as
a scrypt hash only (:mod:`kiosk.pin`).
"""

from __future__ import annotations

import enum
import os
import tomllib
from collections.abc import Mapping
from importlib import resources
from importlib.metadata import entry_points
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, Field, ValidationInfo, field_validator
from pydantic.dataclasses import dataclass

from hospital_adapter import SCHEMA, Problem, Settings, environment_problems, load, validate
from kiosk.pin import DEFAULT_PIN, HOW_TO, PinHash

ENV_CONFIG = "CCCD_KIOSK_CONFIG"
DEFAULT_CONFIG = "kiosk.toml"
BACKEND_GROUP = "cccd_kiosk.card_backends"
DEFAULT_PIN_HASH = (
    "$scrypt$ln=15,r=8,p=1$Y2NjZC1raW9zay1kZW1vIQ$8M8JuDbi1QnD+ylthBH73/MpCMxFXSCyygvjacWGajY"
)
"""The hash of :data:`~kiosk.pin.DEFAULT_PIN` in the shipped file (refused at start)."""


class Policy(enum.Enum):
    """What to do with a card that is readable but not fully trustworthy."""

    ALLOW = "allow"
    """Go on, with a note for staff (never shown to the patient as "verified")."""
    COUNTER = "counter"
    """Refuse politely and send the patient to the help counter."""


class FacilityType(enum.Enum):
    STATE = "state"
    NON_STATE = "non_state"
    """A non-state organisation may read the chip only with the holder's consent (Luật
    Căn cước 2023 Đ22 k5, docs/domain.md §4.1)."""


class Consent(enum.Enum):
    """When to ask the patient's consent before the chip is read."""

    AUTO = "auto"
    """At a non-state facility."""
    ALWAYS = "always"
    NEVER = "never"


class Language(enum.Enum):
    VI = "vi"
    EN = "en"


def backend_names() -> list[str]:
    """``pcsc`` and the entry points registered in group :data:`BACKEND_GROUP`."""
    return ["pcsc", *sorted(entry.name for entry in entry_points(group=BACKEND_GROUP))]


def _known_backend(name: str) -> str:
    known = backend_names()
    if name not in known:
        raise ValueError(f"unknown card backend {name!r} (known: {', '.join(known)})")
    return name


def _existing_path(value: str) -> str:
    if not Path(value).exists():
        raise ValueError(f"{value} does not exist")
    return value


def _pin_hash(value: str) -> str:
    PinHash.parse(value)
    return value


ExistingPaths = tuple[Annotated[str, AfterValidator(_existing_path)], ...]
Baudrate = Annotated[int, Field(strict=True, ge=300, le=4_000_000)]


@dataclass(frozen=True, config=SCHEMA)
class KioskSettings:
    """``[kiosk]``: behaviour of the flow and the screen."""

    language: Language = Field(default=Language.VI, description="first language of each patient")
    hospital_name: str = Field(
        default="Bệnh viện Đa khoa",
        strict=True,
        min_length=1,
        max_length=60,
        description="on the ticket",
    )
    untrusted_card: Policy = Field(
        default=Policy.ALLOW, description='unknown CSCA: "allow" (note for staff) or "counter"'
    )
    expired_card: Policy = Field(default=Policy.ALLOW, description="ID card past its expiry date")
    facility_type: FacilityType = Field(
        default=FacilityType.STATE, description='"state" or "non_state" (a private hospital)'
    )
    consent: Consent = Field(
        default=Consent.AUTO,
        description='ask before reading the chip: "auto" (non-state facilities), "always", "never"',
    )
    digit_attempts: int = Field(
        default=3,
        strict=True,
        ge=1,
        le=10,
        description="tries at the last 6 digits of the ID number",
    )
    masked_digits: int = Field(
        default=4, strict=True, ge=0, le=6, description="digits of the ID number left visible"
    )
    fullscreen: bool = Field(default=True, strict=True)

    @property
    def asks_consent(self) -> bool:
        if self.consent is Consent.AUTO:
            return self.facility_type is FacilityType.NON_STATE
        return self.consent is Consent.ALWAYS

    voice: bool = Field(
        default=True, strict=True, description="spoken prompts where a voice exists"
    )
    voice_volume: float = Field(
        default=1.0, strict=True, ge=0, le=1, description="speech volume, 0 (mute) to 1"
    )
    voice_rate: float = Field(
        default=-0.2,
        strict=True,
        ge=-1,
        le=1,
        description="speech rate, -1 (slowest) to 1; 0 the engine's usual pace",
    )
    font_family: str = Field(default="Noto Sans", strict=True, min_length=1, max_length=100)


class Question(enum.Enum):
    """A priority class the chip cannot tell, asked of the patient (one per screen)."""

    DISABILITY = "disability"
    PREGNANT = "pregnant"
    """Asked of women only: the chip tells the sex."""
    MERIT = "merit"


@dataclass(frozen=True, config=SCHEMA)
class PrioritySettings:
    """``[priority]``: who is seen first. Defaults per Luật Khám bệnh, chữa bệnh 2023
    (15/2023/QH15) Đ3 k2, docs/domain.md §4.3: children under 6 and people aged 75 or over
    (from the birth date, never asked), then the questions in ``ask``, until one is yes."""

    child_under: int = Field(
        default=6, strict=True, ge=0, le=18, description="children younger than this (years)"
    )
    elderly_from: int = Field(
        default=75, strict=True, ge=50, le=120, description="people this old or older (years)"
    )
    ask: tuple[Question, ...] = Field(
        default=(Question.DISABILITY, Question.PREGNANT, Question.MERIT),
        description="asked in this order, one per screen, when the age gives no priority",
    )


@dataclass(frozen=True, config=SCHEMA)
class Timeouts:
    """``[timeouts]`` in seconds."""

    idle_s: float = Field(
        default=60.0, strict=True, gt=0, le=3600, description="no touch this long: wipe and restart"
    )
    countdown_s: float = Field(
        default=15.0, strict=True, gt=0, le=600, description="last part of idle_s, shown; < idle_s"
    )
    ticket_s: float = Field(default=20.0, strict=True, gt=0, le=3600, description="ticket screen")
    problem_s: float = Field(default=40.0, strict=True, gt=0, le=3600, description="problem screen")
    lookup_s: float = Field(
        default=15.0, strict=True, gt=0, le=120, description="BHYT lookup deadline"
    )
    check_in_s: float = Field(
        default=10.0,
        strict=True,
        ge=2,
        le=120,
        description="check-in deadline (1 s kept for the HIS)",
    )

    @field_validator("countdown_s")
    @classmethod
    def _within_idle(cls, value: float, info: ValidationInfo) -> float:
        idle = info.data.get("idle_s")
        if idle is not None and value >= idle:
            raise ValueError("must be less than idle_s")
        return value


@dataclass(frozen=True, config=SCHEMA)
class CardSettings:
    """``[card]``: ``backend`` by name (``pcsc``, or an entry point of group
    ``cccd_kiosk.card_backends``); ``reader`` is the PC/SC name, empty for the first one."""

    backend: Annotated[str, AfterValidator(_known_backend)] = Field(
        default="pcsc",
        strict=True,
        description="pcsc, or an entry point of cccd_kiosk.card_backends",
    )
    reader: str = Field(
        default="", strict=True, max_length=200, description="PC/SC name; empty: first"
    )
    transmit_timeout_s: float = Field(default=10.0, strict=True, gt=0, le=120)
    poll_s: float = Field(
        default=0.5, strict=True, ge=0.05, le=10, description="card presence poll"
    )
    csca: ExistingPaths = Field(
        default=(),
        description="existing CSCA certificate files or folders (PEM/DER): the trust anchors",
    )
    master_lists: ExistingPaths = Field(
        default=(), description="existing ICAO CSCA master list files"
    )
    crls: ExistingPaths = Field(
        default=(), description="existing certificate revocation list files"
    )


@dataclass(frozen=True, config=SCHEMA)
class ScannerSettings:
    """``[scanner]``: the 2D QR scanner on a USB-CDC serial port (empty: none)."""

    port: str = Field(default="", strict=True, description="serial device; empty: no scanner")
    baudrate: Baudrate = 9600


@dataclass(frozen=True, config=SCHEMA)
class PrinterSettings:
    """``[printer]``: the ESC/POS thermal printer on a serial port (empty: none)."""

    port: str = Field(default="", strict=True, description="serial device; empty: no printer")
    baudrate: Baudrate = 19200
    width_dots: int = Field(
        default=576,
        strict=True,
        ge=8,
        le=2048,
        multiple_of=8,
        description="576 (80 mm), 384 (58 mm)",
    )
    timeout_s: float = Field(default=5.0, strict=True, gt=0, le=60)
    native_qr: bool = Field(
        default=True,
        strict=True,
        description="the printer prints QR codes itself (GS ( k); false: as an image",
    )
    vietnamese_code_table: int = Field(
        default=-1,
        strict=True,
        ge=-1,
        le=255,
        description="ESC t number of the printer's CP1258 table (52 on Epson TM);"
        " -1: none, Vietnamese lines printed as images",
    )


@dataclass(frozen=True, config=SCHEMA)
class AdminSettings:
    """``[admin]``: the staff screen's PIN (a scrypt hash) and its growing lockout."""

    pin_hash: Annotated[str, AfterValidator(_pin_hash)] = Field(
        default=DEFAULT_PIN_HASH, strict=True, description=f"scrypt hash of the PIN: {HOW_TO}"
    )
    attempts: int = Field(
        default=3, strict=True, ge=1, le=10, description="wrong PINs before a lockout"
    )
    lockout_s: float = Field(
        default=60.0,
        strict=True,
        ge=1,
        le=3600,
        description="first lockout; doubles with each lockout",
    )
    max_lockout_s: float = Field(
        default=3600.0, strict=True, ge=1, le=86400, description="longest lockout; >= lockout_s"
    )

    @field_validator("max_lockout_s")
    @classmethod
    def _at_least_first(cls, value: float, info: ValidationInfo) -> float:
        first = info.data.get("lockout_s")
        if first is not None and value < first:
            raise ValueError("must be at least lockout_s")
        return value


@dataclass(frozen=True, config=SCHEMA)
class Counters:
    """``[counters]``: counter numbers the patient is sent to."""

    help: int = Field(
        default=1, strict=True, ge=1, le=99, description="card problems, anything else"
    )
    insurance: int = Field(default=2, strict=True, ge=1, le=99, description="BHYT to be verified")


@dataclass(frozen=True, config=SCHEMA)
class Department:
    """One ``[[departments]]`` entry: the HIS code, names and the room."""

    code: str = Field(strict=True, pattern=r"^[A-Za-z0-9_.\-]{1,20}$", description="HIS code")
    name_vi: str = Field(strict=True, min_length=1, max_length=60)
    name_en: str = Field(strict=True, min_length=1, max_length=60)
    room: str = Field(strict=True, min_length=1, max_length=20)

    def name(self, language: Language) -> str:
        return self.name_vi if language is Language.VI else self.name_en


@dataclass(frozen=True, config=SCHEMA)
class KioskConfig(Settings):
    """The adapter's tables and the kiosk's."""

    kiosk: KioskSettings = KioskSettings()
    priority: PrioritySettings = PrioritySettings()
    timeouts: Timeouts = Timeouts()
    card: CardSettings = CardSettings()
    scanner: ScannerSettings = ScannerSettings()
    printer: PrinterSettings = PrinterSettings()
    admin: AdminSettings = AdminSettings()
    counters: Counters = Counters()
    departments: tuple[Department, ...] = Field(
        default=(Department("K01", "Khám Nội", "Internal medicine", "101"),),
        description="the departments a patient can choose, in order; at least one",
    )

    @field_validator("departments")
    @classmethod
    def _unique_codes(cls, value: tuple[Department, ...]) -> tuple[Department, ...]:
        if not value:
            raise ValueError("list at least one department")
        codes = [d.code for d in value]
        if len(set(codes)) != len(codes):
            raise ValueError("department codes must be unique")
        return value

    def department(self, code: str) -> Department:
        for department in self.departments:
            if department.code == code:
                return department
        raise KeyError(code)


def default_config_text() -> str:
    """The TOML shipped with the kiosk (the defaults, documented)."""
    return resources.files("kiosk").joinpath(DEFAULT_CONFIG).read_text(encoding="utf-8")


def load_config(path: str | Path | None = None, env: Mapping[str, str] = os.environ) -> KioskConfig:
    """Read ``path`` (or ``$CCCD_KIOSK_CONFIG``, or the shipped defaults)."""
    path = path or env.get(ENV_CONFIG)
    if path:
        return load(KioskConfig, path)
    return validate(KioskConfig, tomllib.loads(default_config_text()))


def default_pin_problem(admin: AdminSettings) -> Problem | None:
    """A problem if the staff PIN is the shipped default (one scrypt call, 0.1 s)."""
    if PinHash.parse(admin.pin_hash).matches(DEFAULT_PIN):
        return Problem("admin.pin_hash", f"is the default PIN {DEFAULT_PIN}: {HOW_TO}")
    return None


def startup_problems(config: KioskConfig, env: Mapping[str, str] = os.environ) -> list[Problem]:
    """Why a valid configuration still cannot start: the environment's secrets, the
    default PIN."""
    pin = default_pin_problem(config.admin)
    return [*environment_problems(config, env), *([pin] if pin else [])]
