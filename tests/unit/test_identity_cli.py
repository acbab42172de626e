"""``cccd verify`` shows who the card says the holder is (issue 11 item 7): every DG1 and
DG13 field by name with Vietnamese intact, unknown DG13 numbers raw, in text and as an
``identity`` object in ``--json``; ``--photo`` saves the face; ``--no-identity`` hides it all;
the log stays free of personal data even at debug level.

The cards are the simulator's personas, issued to folders by ``cccd-sim issue``; the PC/SC
path (``cccd read``) is in tests/e2e/test_cli_e2e.py.
"""

from __future__ import annotations

import json
import logging
from functools import cache
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from PIL import Image

from cardreader.cli import main
from simulators.cli import main as sim_main
from simulators.issuance.card import Profile
from simulators.issuance.lds import NO_EXPIRY_TEXT, td1_mrz
from simulators.persona import Persona, make_persona

PERSONA = make_persona(7)


@cache
def issued(root: Path, seed: int, profile: Profile) -> Path:
    folder = root / f"{seed}-{profile.value}"
    result = CliRunner().invoke(
        sim_main, ["issue", str(folder), "--persona", str(seed), "--profile", profile.value]
    )
    assert result.exit_code == 0, result.output
    return folder


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cards")


def verify(folder: Path, *args: str | Path) -> Result:
    arguments = ["verify", str(folder), "--csca", str(folder / "csca.pem"), *map(str, args)]
    return CliRunner().invoke(main, arguments)


def expected_dg13(persona: Persona) -> dict[str, object]:
    def day(value: object) -> str:
        return f"{value:%d/%m/%Y}"

    return {
        "id_number": persona.id_number,
        "full_name": persona.full_name,
        "date_of_birth": day(persona.date_of_birth),
        "sex": persona.sex.value,
        "nationality": persona.nationality,
        "ethnicity": persona.ethnicity,
        "religion": persona.religion,
        "place_of_origin": persona.place_of_origin,
        "place_of_residence": persona.place_of_residence,
        "identifying_marks": persona.identifying_marks,
        "date_of_issue": day(persona.date_of_issue),
        "date_of_expiry": (
            day(persona.date_of_expiry) if persona.date_of_expiry else NO_EXPIRY_TEXT
        ),
        "father_name": persona.father,
        "mother_name": persona.mother,
        "spouse_name": persona.spouse,
        "old_id_number": persona.old_id_number,
        "unknown_fields": [
            {
                "number": 16,
                "hex": "1310" + f"{persona.seed:016d}".encode().hex().upper(),
                "text": f"{persona.seed:016d}",
            }
        ],
    }


def test_json_identity_has_every_dg1_and_dg13_field(root: Path) -> None:
    result = verify(issued(root, 7, Profile.CCCD_2021), "--json")
    assert result.exit_code == 0, result.output
    identity = json.loads(result.stdout)["identity"]
    assert identity["dg13"] == expected_dg13(PERSONA)
    mrz = td1_mrz(PERSONA)  # the TD1 positions of docs/domain.md §2.4
    assert identity["dg1"] == {
        "format": "TD1",
        "document_code": "ID",
        "issuing_state": "VNM",
        "document_number": mrz[5:14],
        "optional_data_1": mrz[15:30].rstrip("<"),
        "date_of_birth": mrz[30:36],
        "sex": mrz[37],
        "date_of_expiry": mrz[38:44],
        "nationality": mrz[45:48],
        "optional_data_2": "",
        "primary_identifier": "PHAM",
        "secondary_identifier": "MY CHAU",
        "check_digits": "valid",
    }
    assert mrz[5:14] == PERSONA.id_number[-9:] and mrz[30:36] == f"{PERSONA.date_of_birth:%y%m%d}"
    assert identity["problems"] == []
    assert "Phạm Mỹ Châu" in result.stdout  # not \\u escapes: Vietnamese intact


def test_text_identity_names_each_field(root: Path) -> None:
    result = verify(issued(root, 7, Profile.CCCD_2021))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    start = lines.index("Identity in DG13:")
    shown = {line[2:24].rstrip(): line[25:] for line in lines[start + 1 :]}
    assert shown["full name"] == PERSONA.full_name
    assert shown["place of residence"] == PERSONA.place_of_residence
    assert shown["father name"] == PERSONA.father
    assert shown["field 16"] == (
        f"{PERSONA.seed:016d} (raw 1310{f'{PERSONA.seed:016d}'.encode().hex().upper()})"
    )
    assert "Identity in DG1 (the MRZ):" in lines
    assert lines[0].startswith("VERIFIED (checked at")


def test_no_identity_prints_nothing_personal(root: Path) -> None:
    folder = issued(root, 7, Profile.CCCD_2021)
    for args in ((), ("--json",)):
        result = verify(folder, "--no-identity", *args)
        assert result.exit_code == 0
        for value in (PERSONA.full_name, PERSONA.id_number, PERSONA.place_of_residence, "PHAM"):
            assert value not in result.output
    assert "identity" not in json.loads(verify(folder, "--no-identity", "--json").stdout)


def test_debug_log_holds_no_personal_data(root: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    result = verify(issued(root, 7, Profile.CCCD_2021), "--json", "--photo", root / "face.png")
    assert result.exit_code == 0
    assert PERSONA.full_name in result.stdout  # shown on the terminal ...
    for value in (PERSONA.full_name, PERSONA.id_number, PERSONA.id_number[-9:], "PHAM"):
        assert value not in caplog.text  # ... never logged


@pytest.mark.parametrize(
    ("profile", "name", "pillow_format"),
    [
        (Profile.CCCD_2021, "face.png", "PNG"),
        (Profile.CCCD_2021, "face.jpg", "JPEG"),
        (Profile.CAN_CUOC_2024, "face.JPEG", "JPEG"),
        (Profile.CAN_CUOC_2024, "face.png", "PNG"),
    ],
)
def test_photo_is_saved_as_png_or_jpeg(
    root: Path, tmp_path: Path, profile: Profile, name: str, pillow_format: str
) -> None:
    folder = issued(root, 7, profile)
    path = tmp_path / name
    result = verify(folder, "--photo", path, "--no-identity")
    assert result.exit_code == 0, result.output
    with Image.open(path) as image:
        assert (image.format, image.size) == (pillow_format, (240, 320))
    if profile is Profile.CCCD_2021 and pillow_format == "JPEG":  # the chip's own JPEG
        assert path.read_bytes() in (folder / "DG2.bin").read_bytes()


def test_photo_without_dg2_is_an_error(root: Path, tmp_path: Path) -> None:
    folder = tmp_path / "no-face"
    folder.mkdir()
    for item in issued(root, 7, Profile.CCCD_2021).iterdir():
        if item.name != "DG2.bin":
            (folder / item.name).write_bytes(item.read_bytes())
    result = verify(folder, "--photo", tmp_path / "face.png")
    assert (result.exit_code, result.stderr) == (2, "error: no photo to save: DG2 was not read\n")


def test_a_malformed_dg13_is_shown_as_a_problem(root: Path, tmp_path: Path) -> None:
    folder = tmp_path / "bad-dg13"
    folder.mkdir()
    for item in issued(root, 7, Profile.CCCD_2021).iterdir():
        (folder / item.name).write_bytes(item.read_bytes())
    (folder / "DG13.bin").write_bytes(b"\x6d\x03\x02\x01\x01")
    result = verify(folder, "--json")
    assert result.exit_code == 1  # the DG13 hash differs
    identity = json.loads(result.stdout)["identity"]
    assert identity["dg13"] is None and identity["dg1"] is not None
    assert identity["problems"] == ["DG13 cannot be shown: DG13 must hold a SEQUENCE, not tag 2"]
