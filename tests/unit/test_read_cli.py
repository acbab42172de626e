"""``cccd read``: bad option values end with exit code 2 and one line, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cardreader.cli import QR_MAX_BYTES, main

CCCD = Path(sys.executable).with_name("cccd")
ADDRESS_SPACE_LIMIT = 512 << 20
"""Half the 1 GiB test file: reading it whole cannot fit in the process."""


def _read(*args: str) -> Result:
    return CliRunner().invoke(main, ["read", *args])


def _assert_fails(result: Result, stderr: str) -> None:
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", stderr)


def test_missing_qr_file(tmp_path: Path) -> None:
    path = tmp_path / "qr.txt"
    _assert_fails(
        _read("--qr", f"@{path}"),
        f"error: cannot read the QR file '{path}': No such file or directory\n",
    )


def test_qr_file_is_a_directory(tmp_path: Path) -> None:
    _assert_fails(
        _read("--qr", f"@{tmp_path}"),
        f"error: cannot read the QR file '{tmp_path}': Is a directory\n",
    )


def test_qr_file_name_missing() -> None:
    _assert_fails(
        _read("--qr", "@"), "error: cannot read the QR file '': No such file or directory\n"
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_qr_file(tmp_path: Path) -> None:
    path = tmp_path / "qr.txt"
    path.write_text("")
    path.chmod(0)
    _assert_fails(
        _read("--qr", f"@{path}"), f"error: cannot read the QR file '{path}': Permission denied\n"
    )


def test_qr_file_one_byte_too_long(tmp_path: Path) -> None:
    path = tmp_path / "qr.txt"
    path.write_bytes(b"0" * (QR_MAX_BYTES + 1))
    _assert_fails(
        _read("--qr", f"@{path}"),
        f"error: the QR file '{path}' is longer than a QR code can hold (2953 bytes)\n",
    )


def test_qr_file_of_the_largest_size_goes_to_the_parser(tmp_path: Path) -> None:
    path = tmp_path / "qr.txt"
    path.write_bytes(b"0" * QR_MAX_BYTES)
    _assert_fails(_read("--qr", f"@{path}"), "error: QR payload longer than 2048 characters\n")


def test_huge_qr_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    """A sparse 1 GiB file, with the installed ``cccd`` limited to 512 MiB of address space."""
    path = tmp_path / "huge.qr"
    subprocess.run(["truncate", "-s", "1G", path], check=True)
    limit_then_exec = (
        "import os, resource, sys\n"
        f"resource.setrlimit(resource.RLIMIT_AS, ({ADDRESS_SPACE_LIMIT}, {ADDRESS_SPACE_LIMIT}))\n"
        "os.execv(sys.argv[1], sys.argv[1:])"
    )
    result = subprocess.run(
        [sys.executable, "-c", limit_then_exec, CCCD, "read", "--qr", f"@{path}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout, result.stderr) == (
        2,
        "",
        f"error: the QR file '{path}' is longer than a QR code can hold (2953 bytes)\n",
    )


@pytest.mark.parametrize("timeout", ["0", "-1", "3601", "inf", "nan"])
def test_timeout_out_of_range(timeout: str) -> None:
    _assert_fails(
        _read("--can", "123456", "--timeout", timeout),
        "error: Invalid value for '--timeout': "
        f"give seconds above 0 and at most 3600, not {float(timeout)}\n",
    )


@pytest.mark.parametrize(
    ("mrz", "field"),
    [
        ("185012345,851315,250315", "date of birth"),  # month 13
        ("185012345,850399,250315", "date of birth"),  # day 99
        ("185012345,850230,250315", "date of birth"),  # 30 February
        ("185012345,850315,251301", "date of expiry"),
        ("185012345,850431,250315", "date of birth"),  # 31 April
    ],
)
def test_mrz_dates_that_are_not_dates(mrz: str, field: str) -> None:
    _assert_fails(
        _read("--mrz", mrz),
        f"error: {field} must be a date YYMMDD (month 01-12, a day of that month)\n",
    )


@pytest.mark.parametrize("name", ["face.gif", "face", "face.png.txt"])
def test_photo_needs_a_png_or_jpeg_name(name: str) -> None:
    _assert_fails(
        _read("--can", "123456", "--photo", name),
        f"error: Invalid value for '--photo': give a .png, .jpg or .jpeg file name, not {name!r}\n",
    )


def test_unknown_option_and_missing_credentials_are_one_line() -> None:
    _assert_fails(_read("--can", "1", "--xyzzy"), "error: No such option '--xyzzy'.\n")
    _assert_fails(_read(), "error: give --can, --mrz, --id or --qr to open the chip\n")
