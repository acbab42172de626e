"""Configuration: a TOML file for settings, environment variables for secrets.

The gateway account and staff identity come from ``BHXH_USERNAME``, ``BHXH_PASSWORD``,
``BHXH_STAFF_NAME`` and ``BHXH_STAFF_ID`` (docs/domain.md §3: ``hoTenCb``/``cccdCb`` are
mandatory); the store key from ``CCCD_HOSPITAL_KEY`` or a key file. No credential is ever
read from the TOML file, so the file can be committed and shared.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from hospital_adapter.errors import ConfigurationError

ENV_USERNAME = "BHXH_USERNAME"
ENV_PASSWORD = "BHXH_PASSWORD"
ENV_STAFF_NAME = "BHXH_STAFF_NAME"
ENV_STAFF_ID = "BHXH_STAFF_ID"
ENV_STORE_KEY = "CCCD_HOSPITAL_KEY"
ENV_CONFIG = "CCCD_HOSPITAL_CONFIG"


@dataclass(frozen=True)
class GatewayAccount:
    """The facility's gateway account and the staff member lookups run on behalf of."""

    username: str
    password: str = field(repr=False)
    staff_name: str = field(repr=False)
    staff_id: str = field(repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> GatewayAccount:
        names = (ENV_USERNAME, ENV_PASSWORD, ENV_STAFF_NAME, ENV_STAFF_ID)
        missing = [name for name in names if not env.get(name)]
        if missing:
            raise ConfigurationError(f"set the environment variable(s) {', '.join(missing)}")
        return cls(*(env[name] for name in names))


@dataclass(frozen=True)
class GatewaySettings:
    """``[gateway]``: where the BHXH gateway is and how patient to be with it."""

    url: str = "http://127.0.0.1:8080"
    timeout_s: float = 10.0
    attempts: int = 3
    backoff_s: float = 0.2
    cache_ttl_s: float = 300.0
    breaker_threshold: int = 5
    breaker_reset_s: float = 30.0


@dataclass(frozen=True)
class HisSettings:
    """``[his]``: ``kind`` is ``hl7`` (MLLP ``host``:``port``) or ``fhir`` (base ``url``)."""

    kind: str = "hl7"
    host: str = "127.0.0.1"
    port: int = 2575
    url: str = ""
    timeout_s: float = 5.0
    sending_facility: str = "KIOSK"
    receiving_application: str = "HIS"


@dataclass(frozen=True)
class StoreSettings:
    """``[store]``: the SQLite file, the key file (or ``CCCD_HOSPITAL_KEY``), retention."""

    path: str = "hospital.sqlite3"
    key_file: str = ""
    retention_days: int = 90


@dataclass(frozen=True)
class HospitalSettings:
    """``[hospital]``: the facility code (``MA_CSKCB``, 5 digits) and its departments."""

    facility_code: str = "00000"
    departments: tuple[str, ...] = ("K01",)


@dataclass(frozen=True)
class Settings:
    gateway: GatewaySettings = GatewaySettings()
    his: HisSettings = HisSettings()
    store: StoreSettings = StoreSettings()
    hospital: HospitalSettings = HospitalSettings()


_T = TypeVar("_T")


def _section(cls: type[_T], table: object, name: str) -> _T:
    if table is None:
        return cls()
    if not isinstance(table, dict):
        raise ConfigurationError(f"[{name}] must be a table")
    defaults = cls()
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigurationError(f"unknown setting(s) in [{name}]: {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for key, raw in table.items():
        expected = type(getattr(defaults, key))
        value = raw
        if expected is float and type(raw) is int:
            value = float(raw)
        if expected is tuple and isinstance(raw, list) and all(isinstance(v, str) for v in raw):
            value = tuple(raw)
        if type(value) is not expected:
            raise ConfigurationError(f"[{name}] {key} must be of type {expected.__name__}")
        values[key] = value
    return cls(**values)


def load_settings(path: str | Path | None = None, env: Mapping[str, str] = os.environ) -> Settings:
    """Read the TOML file at ``path`` (or ``$CCCD_HOSPITAL_CONFIG``); defaults without one."""
    path = path or env.get(ENV_CONFIG)
    if not path:
        return Settings()
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(f"configuration file {path} not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"configuration file {path} is not valid TOML: {exc}") from None
    sections = {f.name for f in fields(Settings)}
    unknown = sorted(set(data) - set(sections))
    if unknown:
        raise ConfigurationError(f"unknown section(s) in {path}: {', '.join(unknown)}")
    return Settings(
        gateway=_section(GatewaySettings, data.get("gateway"), "gateway"),
        his=_section(HisSettings, data.get("his"), "his"),
        store=_section(StoreSettings, data.get("store"), "store"),
        hospital=_section(HospitalSettings, data.get("hospital"), "hospital"),
    )


KEY_BYTES = 32


def load_store_key(settings: StoreSettings, env: Mapping[str, str] = os.environ) -> bytes:
    """The 32-byte master key of the store: ``$CCCD_HOSPITAL_KEY`` or the key file, as hex."""
    text = env.get(ENV_STORE_KEY)
    if not text and settings.key_file:
        try:
            text = Path(settings.key_file).read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigurationError(f"cannot read key file {settings.key_file}: {exc}") from None
    if not text:
        raise ConfigurationError(f"set {ENV_STORE_KEY} or [store] key_file to a 32-byte hex key")
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        raise ConfigurationError("the store key is not hexadecimal") from None
    if len(key) != KEY_BYTES:
        raise ConfigurationError(f"the store key must be {KEY_BYTES} bytes, got {len(key)}")
    return key
