"""Configuration: one validated schema for the TOML file, secrets from the environment.

The schema is a set of frozen pydantic dataclasses, one per table, each field with its
type, range and description; the kiosk's schema (``kiosk.config.KioskConfig``) extends
:class:`Settings`, so both programs read the adapter's tables with the same rules and the
same loader (:func:`load`), and every problem is reported with its key at once
(:class:`~hospital_adapter.errors.ConfigurationError`). pydantic is imported by the
configuration modules only (import-linter contract).

The gateway account and staff identity come from ``BHXH_USERNAME``, ``BHXH_PASSWORD``,
``BHXH_STAFF_NAME`` and ``BHXH_STAFF_ID`` (docs/domain.md §3: ``hoTenCb``/``cccdCb`` are
mandatory); the store key from ``CCCD_HOSPITAL_KEY`` or a key file; the FHIR server's
token or client secret from ``CCCD_HIS_TOKEN`` / ``CCCD_HIS_CLIENT_SECRET``. No credential
is ever read from the TOML file, so the file can be committed and shared.
"""

from __future__ import annotations

import dataclasses
import os
import stat
import tomllib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic.dataclasses import dataclass

from hospital_adapter.errors import ConfigurationError, Problem

ENV_USERNAME = "BHXH_USERNAME"
ENV_PASSWORD = "BHXH_PASSWORD"
ENV_STAFF_NAME = "BHXH_STAFF_NAME"
ENV_STAFF_ID = "BHXH_STAFF_ID"
ENV_STORE_KEY = "CCCD_HOSPITAL_KEY"
ENV_CONFIG = "CCCD_HOSPITAL_CONFIG"
ENV_HIS_TOKEN = "CCCD_HIS_TOKEN"
ENV_HIS_CLIENT_SECRET = "CCCD_HIS_CLIENT_SECRET"
ENV_XML0_P12_PASSWORD = "CCCD_XML0_P12_PASSWORD"
ENV_XML0_TOKEN_PIN = "CCCD_XML0_TOKEN_PIN"

SCHEMA = ConfigDict(extra="forbid")
"""Every table of the schema: unknown keys are refused."""


@dataclasses.dataclass(frozen=True)
class GatewayAccount:
    """The facility's gateway account and the staff member lookups run on behalf of."""

    username: str
    password: str = dataclasses.field(repr=False)
    staff_name: str = dataclasses.field(repr=False)
    staff_id: str = dataclasses.field(repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> GatewayAccount:
        names = (ENV_USERNAME, ENV_PASSWORD, ENV_STAFF_NAME, ENV_STAFF_ID)
        missing = [Problem(name, "not set") for name in names if not env.get(name)]
        if missing:
            raise ConfigurationError(*missing)
        return cls(*(env[name] for name in names))


def _http_url(value: str) -> str:
    """An ``http://`` or ``https://`` URL with a host (and a valid port, if any)."""
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise ValueError("the port must be a number from 1 to 65535") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    return value


def _postgres_url(value: str) -> str:
    """A ``postgresql://`` URL with a host and no password (libpq reads the password from
    ``PGPASSWORD`` or the ``PGPASSFILE``, never from the shared file)."""
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise ValueError("the port must be a number from 1 to 65535") from None
    if parts.scheme not in ("postgresql", "postgres") or not parts.hostname:
        raise ValueError("must be a postgresql:// URL with a host")
    if parts.password is not None:
        raise ValueError("holds a password: remove it, set PGPASSWORD or a PGPASSFILE instead")
    return value


def _existing_file(value: str) -> str:
    if not Path(value).is_file():
        raise ValueError(f"file {value} does not exist")
    return value


def _optional(check: Any) -> AfterValidator:
    """``check``, except for the empty string (the setting is unused)."""
    return AfterValidator(lambda value: check(value) if value else value)


HttpUrl = Annotated[str, AfterValidator(_http_url)]
OptionalHttpUrl = Annotated[str, _optional(_http_url)]
OptionalFile = Annotated[str, _optional(_existing_file)]
Hl7Name = Annotated[str, Field(strict=True, max_length=20, pattern=r"^[A-Za-z0-9_.\-]*$")]
"""An HL7 v2 HD namespace (MSH-3 to MSH-6): up to 20 letters, digits, ``_ . -``."""


@dataclass(frozen=True, config=SCHEMA)
class GatewaySettings:
    """``[gateway]``: where the BHXH gateway is and how patient to be with it."""

    url: HttpUrl = Field(
        default="http://127.0.0.1:8080",
        description="the facility's BHXH gateway: http(s) URL with a host",
    )
    timeout_s: float = Field(default=10.0, strict=True, gt=0, le=300, description="one request")
    attempts: int = Field(default=3, strict=True, ge=1, le=10, description="tries per lookup")
    backoff_s: float = Field(
        default=0.2, strict=True, ge=0, le=60, description="first wait between tries (doubles)"
    )
    cache_ttl_s: float = Field(
        default=300.0,
        strict=True,
        ge=0,
        le=86400,
        description="keep definitive answers; 0: no cache",
    )
    breaker_threshold: int = Field(
        default=5, strict=True, ge=1, le=1000, description="failures in a row that open the breaker"
    )
    breaker_reset_s: float = Field(
        default=30.0,
        strict=True,
        gt=0,
        le=3600,
        description="open breaker: wait before trying again",
    )


@dataclass(frozen=True, config=SCHEMA)
class HisSettings:
    """``[his]``: ``kind`` is ``hl7`` (MLLP ``host``:``port``, optionally over TLS) or
    ``fhir`` (base ``url``, optionally with a bearer token or OAuth2 client credentials)."""

    kind: Literal["hl7", "fhir"] = Field(
        default="hl7", description="HL7 v2.5 over MLLP, or FHIR R4"
    )
    host: str = Field(default="127.0.0.1", strict=True, min_length=1, description="MLLP host (hl7)")
    port: int = Field(default=2575, strict=True, ge=1, le=65535, description="MLLP port (hl7)")
    url: OptionalHttpUrl = Field(
        default="",
        validate_default=True,
        description="FHIR base http(s) URL; required when kind = fhir",
    )
    timeout_s: float = Field(default=5.0, strict=True, gt=0, le=300, description="one registration")
    tls: bool = Field(default=False, strict=True, description="MLLP over TLS (hl7)")
    ca_file: OptionalFile = Field(
        default="",
        description="existing PEM CA bundle for TLS (MLLP, FHIR, token URL); empty: the system's",
    )
    auth: Literal["none", "bearer", "client_credentials"] = Field(
        default="none",
        description=f"FHIR: bearer token from {ENV_HIS_TOKEN}, or OAuth2 client credentials",
    )
    token_url: OptionalHttpUrl = Field(
        default="",
        validate_default=True,
        description="OAuth2 token endpoint, http(s) URL; required for client_credentials",
    )
    client_id: str = Field(
        default="",
        strict=True,
        max_length=200,
        validate_default=True,
        description=f"OAuth2 client id; the secret comes from {ENV_HIS_CLIENT_SECRET}",
    )
    scope: str = Field(
        default="", strict=True, max_length=500, description="OAuth2 scope, if needed"
    )
    sending_application: Hl7Name = Field(default="KIOSK", min_length=1, description="MSH-3")
    sending_facility: Hl7Name = Field(default="", description="MSH-4; empty: the facility code")
    receiving_application: Hl7Name = Field(default="HIS", min_length=1, description="MSH-5")

    @field_validator("url")
    @classmethod
    def _fhir_needs_url(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("kind") == "fhir" and not value:
            raise ValueError('required when kind = "fhir"')
        return value

    @field_validator("tls")
    @classmethod
    def _tls_is_for_mllp(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("kind") == "fhir":
            raise ValueError("MLLP only: for FHIR over TLS use an https:// url")
        return value

    @field_validator("auth")
    @classmethod
    def _auth_is_for_fhir(cls, value: str, info: ValidationInfo) -> str:
        if value != "none" and info.data.get("kind") == "hl7":
            raise ValueError('FHIR only (kind = "fhir")')
        return value

    @field_validator("token_url", "client_id")
    @classmethod
    def _client_credentials(cls, value: str, info: ValidationInfo) -> str:
        if not value and info.data.get("auth") == "client_credentials":
            raise ValueError('required when auth = "client_credentials"')
        return value


def _folder_exists(value: str) -> str:
    folder = Path(value).parent
    if not folder.is_dir():
        raise ValueError(f"folder {folder} does not exist")
    return value


@dataclass(frozen=True, config=SCHEMA)
class StoreSettings:
    """``[store]``: the SQLite file, the hospital's PostgreSQL store for many kiosks, the
    key file (or ``CCCD_HOSPITAL_KEY``), retention."""

    path: Annotated[str, AfterValidator(_folder_exists)] = Field(
        default="hospital.sqlite3",
        strict=True,
        min_length=1,
        description="SQLite file (with `url`: the kiosk's journal); folder must exist",
    )
    url: Annotated[str, _optional(_postgres_url)] = Field(
        default="",
        strict=True,
        description="postgresql:// URL of the hospital's store, no password; empty: `path` alone",
    )
    kiosk_id: str = Field(
        default="",
        strict=True,
        max_length=32,
        pattern=r"^[A-Za-z0-9_.\-]*$",
        description="this kiosk's name in the hospital, unique; empty: the host name",
    )
    lease_block: int = Field(
        default=20,
        strict=True,
        ge=5,
        le=500,
        description="queue numbers a kiosk leases at a time, per department and day",
    )
    timeout_s: float = Field(
        default=2.0,
        ge=0.5,
        le=30.0,
        description="longest wait for the hospital's store before the kiosk works offline",
    )
    key_file: OptionalFile = Field(
        default="", description=f"existing file of 64 hex digits, mode 0600; empty: {ENV_STORE_KEY}"
    )
    retention_days: int = Field(
        default=90,
        strict=True,
        ge=1,
        le=3650,
        description="`purge` keeps settled check-ins this long",
    )


@dataclass(frozen=True, config=SCHEMA)
class HospitalSettings:
    """``[hospital]``: the facility code (``MA_CSKCB``, 5 digits)."""

    facility_code: str = Field(
        default="00000", strict=True, pattern=r"^[0-9]{5}$", description="MA_CSKCB, 5 digits"
    )


@dataclass(frozen=True, config=SCHEMA)
class Xml0Settings:
    """``[xml0]``: report each check-in whose BHYT card the gateway confirmed to BHXH as a
    signed XML0 (docs/domain.md §3.7). Off until the facility's key is configured: a
    PKCS#12 file (``p12``, password from ``CCCD_XML0_P12_PASSWORD``) or a PKCS#11 token
    (``pkcs11_module`` and ``token``, PIN from ``CCCD_XML0_TOKEN_PIN``)."""

    enabled: bool = Field(
        default=False, strict=True, description="report check-ins; needs a key and the fields below"
    )
    province: str = Field(
        default="",
        strict=True,
        pattern=r"^([0-9]{2})?$",
        validate_default=True,
        description="maTinh: the facility's province, 2 digits; required when enabled",
    )
    service_code: str = Field(
        default="",
        strict=True,
        max_length=50,
        pattern=r"^[A-Za-z0-9_.\-]*$",
        validate_default=True,
        description="MA_DICH_VU of the outpatient examination billed at check-in; required"
        " when enabled",
    )
    service_name: str = Field(
        default="",
        strict=True,
        max_length=1024,
        validate_default=True,
        description="TEN_DICH_VU of that examination; required when enabled",
    )
    patient_category: str = Field(
        default="1.1",
        strict=True,
        pattern=r"^[0-9]{1,2}(\.[0-9]{1,2})*$",
        description="MA_DOITUONG_KCB reported at check-in (provisional)",
    )
    pkcs11_module: OptionalFile = Field(
        default="",
        description="existing PKCS#11 library of the facility's USB token (instead of p12)",
    )
    token: str = Field(
        default="",
        strict=True,
        max_length=32,
        validate_default=True,
        description=f"the token's label (with pkcs11_module); PIN from {ENV_XML0_TOKEN_PIN}",
    )
    key_label: str = Field(
        default="",
        strict=True,
        max_length=100,
        description="the key's label on the token; empty: its only RSA key",
    )
    p12: OptionalFile = Field(
        default="",
        validate_default=True,
        description=f"existing PKCS#12 file of the facility's key, mode 0600; password from"
        f" {ENV_XML0_P12_PASSWORD}",
    )
    timeout_s: float = Field(default=10.0, strict=True, gt=0, le=120, description="one report")
    interval_s: float = Field(
        default=5.0, strict=True, ge=0.1, le=3600, description="between passes over the queue"
    )

    @field_validator("province", "service_code", "service_name")
    @classmethod
    def _required_when_enabled(cls, value: str, info: ValidationInfo) -> str:
        if not value and info.data.get("enabled"):
            raise ValueError("required when enabled")
        return value

    @field_validator("token")
    @classmethod
    def _token_with_module(cls, value: str, info: ValidationInfo) -> str:
        if not value and info.data.get("pkcs11_module"):
            raise ValueError("required with pkcs11_module: the token's label")
        return value

    @field_validator("p12")
    @classmethod
    def _one_key_source(cls, value: str, info: ValidationInfo) -> str:
        if "pkcs11_module" not in info.data:  # the module is wrong: reported under its key
            return value
        module = info.data["pkcs11_module"]
        if value and module:
            raise ValueError("give p12 or pkcs11_module, not both")
        if not value and not module and info.data.get("enabled"):
            raise ValueError("required when enabled (or pkcs11_module and token): the key")
        return value


@dataclass(frozen=True, config=SCHEMA)
class Settings:
    """The adapter's tables; the kiosk's configuration extends it."""

    gateway: GatewaySettings = GatewaySettings()
    his: HisSettings = HisSettings()
    store: StoreSettings = StoreSettings()
    hospital: HospitalSettings = HospitalSettings()
    xml0: Xml0Settings = Xml0Settings()


_S = TypeVar("_S")


def _key(location: tuple[str | int, ...]) -> str:
    key = ""
    for part in location:
        key += f"[{part}]" if isinstance(part, int) else f".{part}" if key else part
    return key or "(file)"


_REASONS = {"unexpected_keyword_argument": "unknown key", "missing": "required"}


def _problem(error: Mapping[str, Any]) -> Problem:
    reason = _REASONS.get(error["type"]) or str(error["msg"]).removeprefix("Value error, ")
    return Problem(_key(error["loc"]), reason)


def validate(schema: type[_S], data: Mapping[str, Any]) -> _S:
    """``data`` (parsed TOML) checked against ``schema``; every problem in one
    :class:`ConfigurationError`."""
    try:
        return TypeAdapter(schema).validate_python(data)
    except ValidationError as exc:
        raise ConfigurationError(*map(_problem, exc.errors())) from None


def read_toml(path: str | Path) -> dict[str, Any]:
    """The parsed TOML file; :class:`ConfigurationError` if unreadable or malformed."""
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(Problem("file", f"cannot read: {exc.strerror}")) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigurationError(Problem("file", f"not valid TOML: {exc}")) from None


def load(schema: type[_S], path: str | Path) -> _S:
    """The one loader: read ``path`` and validate it against ``schema``."""
    return validate(schema, read_toml(path))


def load_settings(path: str | Path | None = None, env: Mapping[str, str] = os.environ) -> Settings:
    """Read the TOML file at ``path`` (or ``$CCCD_HOSPITAL_CONFIG``); defaults without one."""
    path = path or env.get(ENV_CONFIG)
    return load(Settings, path) if path else Settings()


KEY_BYTES = 32


def check_private(path: str, key: str) -> None:
    """Refuse (under ``key``) a secret file that group or others may read or write."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise ConfigurationError(Problem(key, f"cannot read {path}: {exc.strerror}")) from None
    if mode & 0o077:
        raise ConfigurationError(
            Problem(
                key,
                f"{path} is open to group or others (mode {stat.filemode(mode)}): chmod 600 {path}",
            )
        )


def _read_key_file(path: str) -> str:
    """The key file's text; refused if group or others may read or write it."""
    check_private(path, "store.key_file")
    try:
        return Path(path).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise ConfigurationError(
            Problem("store.key_file", f"cannot read {path}: {reason}")
        ) from None


def load_store_key(settings: StoreSettings, env: Mapping[str, str] = os.environ) -> bytes:
    """The 32-byte master key of the store: ``$CCCD_HOSPITAL_KEY`` or the key file, as hex."""
    key_name = ENV_STORE_KEY if env.get(ENV_STORE_KEY) else "store.key_file"
    text = env.get(ENV_STORE_KEY) or (
        _read_key_file(settings.key_file) if settings.key_file else ""
    )
    if not text:
        raise ConfigurationError(
            Problem(ENV_STORE_KEY, f"not set, nor [store] key_file: a {KEY_BYTES}-byte hex key")
        )
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        raise ConfigurationError(Problem(key_name, "the store key is not hexadecimal")) from None
    if len(key) != KEY_BYTES:
        raise ConfigurationError(
            Problem(key_name, f"the store key must be {KEY_BYTES} bytes, got {len(key)}")
        )
    return key


def his_secret(his: HisSettings, env: Mapping[str, str] = os.environ) -> str:
    """The FHIR bearer token or OAuth2 client secret ``[his] auth`` needs ("" for none)."""
    name = {"bearer": ENV_HIS_TOKEN, "client_credentials": ENV_HIS_CLIENT_SECRET}.get(his.auth)
    if name is None:
        return ""
    if not env.get(name):
        raise ConfigurationError(Problem(name, f'not set (needed by [his] auth = "{his.auth}")'))
    return env[name]


def xml0_secret(xml0: Xml0Settings, env: Mapping[str, str] = os.environ) -> str:
    """The PKCS#12 password or the token PIN ``[xml0]`` needs ("" when reporting is off);
    the PKCS#12 file must be private (mode 0600)."""
    if not xml0.enabled:
        return ""
    name, needed_by = (
        (ENV_XML0_P12_PASSWORD, "[xml0] p12") if xml0.p12 else (ENV_XML0_TOKEN_PIN, "[xml0] token")
    )
    if xml0.p12:
        check_private(xml0.p12, "xml0.p12")
    if not env.get(name):
        raise ConfigurationError(Problem(name, f"not set (needed by {needed_by})"))
    return env[name]


def environment_problems(settings: Settings, env: Mapping[str, str] = os.environ) -> list[Problem]:
    """What the environment lacks for ``settings``: store key, gateway account, HIS secret,
    the XML0 key's password or PIN."""
    problems: list[Problem] = []
    for check in (
        lambda: load_store_key(settings.store, env),
        lambda: GatewayAccount.from_env(env),
        lambda: his_secret(settings.his, env),
        lambda: xml0_secret(settings.xml0, env),
    ):
        try:
            check()
        except ConfigurationError as exc:
            problems += exc.problems
    return problems


def check_config(
    schema: type[_S],
    path: str | Path,
    env: Mapping[str, str],
    startup: Callable[[_S, Mapping[str, str]], list[Problem]],
) -> list[Problem]:
    """Every problem of the file at ``path`` (against ``schema``); when it has none, what
    ``startup`` finds (the environment's secrets...). Starts nothing."""
    try:
        settings = load(schema, path)
    except ConfigurationError as exc:
        return list(exc.problems)
    return startup(settings, env)


def report(source: str | Path, problems: Sequence[Problem]) -> str:
    """``problems`` as lines for a person: the source and a count, then one per key."""
    if not problems:
        return f"{source}: configuration valid"
    count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
    return "\n".join([f"{source}: {count}", *(f"  {problem}" for problem in problems)])
