"""Write the two generated tables of docs/configuration.md.

- The keys: every field of the one schema (``kiosk.config.KioskConfig``, which extends the
  adapter's ``Settings``), with its type, default and range, read from the schema itself.
- The bad-configuration matrix: each file of :data:`CASES` checked by the real commands,
  ``cccd-kiosk --check-config FILE`` and ``cccd-hospital --config FILE check``, run as
  processes; their exit codes and messages, the temporary folder written ``DIR``.

``python docs/configuration_tables.py`` rewrites the tables between their markers;
``tests/test_configuration_docs.py`` checks that the keys table is the schema's and that the
matrix is what the commands answer.
"""

from __future__ import annotations

import enum
import os
import re
import subprocess
import sys
import tempfile
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.config import KioskConfig
from kiosk.pin import hash_pin

DOC = Path(__file__).with_name("configuration.md")
BIN = Path(sys.executable).parent
KEYS = ("<!-- keys: generated -->", "<!-- keys: end -->")
MATRIX = ("<!-- matrix: generated -->", "<!-- matrix: end -->")
ENV = {
    "BHXH_USERNAME": "kiosk",
    "BHXH_PASSWORD": "kiosk-password",
    "BHXH_STAFF_NAME": "Trần Thị Bình",
    "BHXH_STAFF_ID": "079190000001",
    "CCCD_HOSPITAL_KEY": "ab" * 32,
}


def _range(info: Any) -> str:
    annotation = info.annotation
    if typing.get_origin(annotation) is typing.Literal:
        return " / ".join(f'"{choice}"' for choice in typing.get_args(annotation))
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return " / ".join(f'"{member.value}"' for member in annotation)
    words = {"gt": "> {}", "ge": "≥ {}", "lt": "< {}", "le": "≤ {}", "multiple_of": "× {}"}
    parts = []
    for meta in info.metadata:
        for attribute, template in words.items():
            if getattr(meta, attribute, None) is not None:
                parts.append(template.format(getattr(meta, attribute)))
        if getattr(meta, "min_length", None):
            parts.append(f"≥ {meta.min_length} chars")
        if getattr(meta, "max_length", None):
            parts.append(f"≤ {meta.max_length} chars")
        if getattr(meta, "pattern", None):
            parts.append(f"`{meta.pattern}`")
    return ", ".join(parts)


def _default(value: Any) -> str:
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return f'"{value}"' if len(value) < 40 else f'"{value[:24]}…"'
    if isinstance(value, tuple):
        return "[]" if not value else f"{len(value)} entries"
    return str(value)


def _type(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin is typing.Literal or (
        isinstance(annotation, type) and issubclass(annotation, enum.Enum)
    ):
        return "string"
    if origin is tuple:
        return "array of strings"
    return {float: "number", int: "integer", str: "string", bool: "boolean"}.get(annotation, "?")


def key_rows() -> Iterator[str]:
    """One Markdown row per key of the schema."""
    for table, section in KioskConfig.__pydantic_fields__.items():
        schema = section.annotation
        if typing.get_origin(schema) is tuple:
            schema, header = typing.get_args(schema)[0], f"[[{table}]]"
        else:
            header = f"[{table}]"
        for name, info in schema.__pydantic_fields__.items():
            default = "required" if info.is_required() else _default(info.default)
            note = info.description or ""
            yield (
                f"| `{header}` | `{name}` | {_type(info.annotation)} | {default} |"
                f" {_range(info)} | {note} |"
            )


@dataclass(frozen=True)
class Case:
    """A bad configuration: the file's name, what it changes, and to whom it is given."""

    name: str
    edit: Callable[[str], str]
    kiosk: bool = True
    hospital: bool = True
    env: tuple[tuple[str, str], ...] = ()
    """Variables changed (an empty value: unset)."""


def _set(table: str, line: str) -> Callable[[str], str]:
    return lambda text: text.replace(f"[{table}]\n", f"[{table}]\n{line}\n", 1)


def _xml0(p12: str) -> Callable[[str], str]:
    """``[xml0]`` enabled with every field it needs, the key from PKCS#12 file ``p12``."""
    service = 'province = "79"\nservice_code = "02.1896"\nservice_name = "Khám bệnh"'
    return _set("xml0", f'enabled = true\n{service}\np12 = "{p12}"')


CASES = (
    Case("check-in-negative.toml", _set("timeouts", "check_in_s = -1"), hospital=False),
    Case("lockout-zero.toml", _set("admin", "lockout_s = 0"), hospital=False),
    Case("admin-attempts-zero.toml", _set("admin", "attempts = 0"), hospital=False),
    Case(
        "pin-not-a-hash.toml",
        lambda t: re.sub(r'pin_hash = ".*"', 'pin_hash = "2468"', t),
        hospital=False,
    ),
    Case(
        "old-pin-sha256.toml",
        lambda t: re.sub(r'pin_hash = ".*"', 'pin_sha256 = "a1fb4e70"', t),
        hospital=False,
    ),
    Case("his-kind-rest.toml", _set("his", 'kind = "rest"')),
    Case("his-kind-fhri.toml", _set("his", 'kind = "fhri"')),
    Case("his-port-99999.toml", _set("his", "port = 99999")),
    Case("printer-width-negative.toml", _set("printer", "width_dots = -1"), hospital=False),
    Case("gateway-not-a-url.toml", _set("gateway", 'url = "not a url"')),
    Case("card-poll-zero.toml", _set("card", "poll_s = 0"), hospital=False),
    Case("breaker-negative.toml", _set("gateway", "breaker_threshold = -1")),
    Case("retention-negative.toml", _set("store", "retention_days = -1")),
    Case("fhir-without-url.toml", _set("his", 'kind = "fhir"')),
    Case("gateway-attempts-zero.toml", _set("gateway", "attempts = 0")),
    Case("card-backend-nfc.toml", _set("card", 'backend = "nfc"'), hospital=False),
    Case("store-folder-missing.toml", lambda t: t.replace("DIR/store", "DIR/missing/store")),
    Case("csca-missing.toml", _set("card", 'csca = ["DIR/missing-csca.pem"]'), hospital=False),
    Case(
        "oauth2-incomplete.toml",
        _set("his", 'kind = "fhir"\nurl = "https://his.example/fhir"\nauth = "client_credentials"'),
    ),
    Case(
        "mllp-tls-with-fhir.toml",
        _set("his", 'kind = "fhir"\nurl = "https://his.example/fhir"\ntls = true'),
    ),
    Case("departments-twice.toml", _set("hospital", 'departments = ["K01"]')),
    Case("facility-code-short.toml", _set("hospital", 'facility_code = "7902"')),
    Case(
        "countdown-over-idle.toml",
        _set("timeouts", "idle_s = 10\ncountdown_s = 20"),
        hospital=False,
    ),
    Case(
        "duplicate-department.toml",
        lambda t: (
            t
            + '\n[[departments]]\ncode = "K01"\nname_vi = "Nội"\nname_en = "Medicine"\nroom = "1"\n'
        ),
        hospital=False,
    ),
    Case("not-toml.toml", lambda t: "[gateway\n"),
    Case("default-pin.toml", lambda t: re.sub(r'pin_hash = ".*"', "", t), hospital=False),
    Case(
        "key-file-mode-0644.toml",
        _set("store", 'key_file = "DIR/open.key"'),
        env=(("CCCD_HOSPITAL_KEY", ""),),
    ),
    Case("no-store-key.toml", lambda t: t, env=(("CCCD_HOSPITAL_KEY", ""),)),
    Case(
        "no-gateway-account.toml", lambda t: t, env=(("BHXH_PASSWORD", ""), ("BHXH_STAFF_ID", ""))
    ),
    Case(
        "bearer-without-token.toml",
        _set("his", 'kind = "fhir"\nurl = "https://his.example/fhir"\nauth = "bearer"'),
    ),
    Case("xml0-enabled-alone.toml", _set("xml0", "enabled = true")),
    Case("xml0-province-name.toml", _set("xml0", 'province = "HCM"')),
    Case(
        "xml0-p12-and-token.toml",
        _set("xml0", 'p12 = "DIR/facility.p12"\npkcs11_module = "DIR/libtoken.so"'),
    ),
    Case("xml0-p12-missing.toml", _xml0("DIR/missing.p12")),
    Case("xml0-p12-mode-0644.toml", _xml0("DIR/open.p12")),
    Case(
        "xml0-no-p12-password.toml",
        _xml0("DIR/facility.p12"),
        env=(("CCCD_XML0_P12_PASSWORD", ""),),
    ),
)


def base_config(folder: Path, pin_hash: str) -> str:
    """A valid kiosk file whose store is in ``folder`` (``DIR`` in the cases)."""
    departments = (
        '[[departments]]\ncode = "K01"\nname_vi = "Khám Nội"\nname_en = "Medicine"\nroom = "101"\n'
    )
    tables = [
        *("gateway", "his", "store", "hospital", "xml0"),
        *("timeouts", "card", "printer", "admin"),
    ]
    body = "\n".join(f"[{table}]\n" for table in tables)
    text = body + "\n" + departments
    text = text.replace("[store]\n", '[store]\npath = "DIR/store.sqlite3"\n')
    text = text.replace("[admin]\n", f'[admin]\npin_hash = "{pin_hash}"\n')
    return text.replace("DIR", str(folder))


def _hospital_only(text: str) -> str:
    """The adapter's tables of a kiosk file (``cccd-hospital`` refuses the kiosk's)."""
    keep, out = False, []
    for line in text.splitlines(keepends=True):
        if line.startswith("["):
            keep = line.strip().strip("[]") in ("gateway", "his", "store", "hospital", "xml0")
        if keep:
            out.append(line)
    return "".join(out)


Runner = Callable[[list[str], dict[str, str | None]], tuple[int, str]]
"""Runs a command (``cccd-kiosk ...``) with variables set (``None``: unset): code, output."""


def run_process(args: list[str], env: dict[str, str | None]) -> tuple[int, str]:
    """The command as a process of this virtual environment."""
    merged = {k: v for k, v in {**os.environ, **env}.items() if v is not None}
    done = subprocess.run(
        [str(BIN / args[0]), *args[1:]],
        env=merged,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


def matrix_rows(run: Runner, folder: Path) -> Iterator[str]:
    """One row per case and command, from real runs; ``folder`` written as ``DIR``."""
    for name, mode in (("open.key", 0o644), ("open.p12", 0o644), ("facility.p12", 0o600)):
        (folder / name).write_text("ab" * 32)  # the checks read the mode, not the content
        (folder / name).chmod(mode)
    (folder / "libtoken.so").write_bytes(b"")
    base = base_config(folder, hash_pin("8642")).replace(str(folder), "DIR")
    for case in CASES:
        path = folder / case.name
        text = case.edit(base).replace("DIR", str(folder))
        env: dict[str, str | None] = {**ENV, **{k: v or None for k, v in case.env}}
        runs = []
        if case.kiosk:
            runs.append((["cccd-kiosk", "--check-config", str(path)], text))
        if case.hospital:
            hospital = text if case.name == "not-toml.toml" else _hospital_only(text)
            runs.append((["cccd-hospital", "--config", str(path), "check"], hospital))
        for args, content in runs:
            path.write_text(content, encoding="utf-8")
            code, output = run(args, env)
            message = output.strip().replace(str(folder), "DIR").replace("\n", "<br>")
            yield f"| `{case.name}` | `{args[0]}` | {code} | {message} |"


def _replace(text: str, markers: tuple[str, str], rows: list[str]) -> str:
    start, end = text.index(markers[0]) + len(markers[0]), text.index(markers[1])
    return text[:start] + "\n" + "\n".join(rows) + "\n" + text[end:]


KEYS_HEADER = [
    "| table | key | type | default | range | meaning |",
    "|---|---|---|---|---|---|",
]
MATRIX_HEADER = ["| file | command | exit | message |", "|---|---|---|---|"]


def main() -> None:
    text = DOC.read_text(encoding="utf-8")
    text = _replace(text, KEYS, [*KEYS_HEADER, *key_rows()])
    with tempfile.TemporaryDirectory(prefix="cccd-config-") as folder:
        rows = list(matrix_rows(run_process, Path(folder)))
    DOC.write_text(_replace(text, MATRIX, [*MATRIX_HEADER, *rows]), encoding="utf-8")


if __name__ == "__main__":
    main()
