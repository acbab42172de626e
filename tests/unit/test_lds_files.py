"""Loading saved EF files by name (our naming and the BSI TR-03105-5 data set's)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from cardreader.errors import CardError
from cardreader.files.ids import Ef
from cardreader.files.reader import MAX_FILE_SIZE
from cardreader.lds.files import SavedFilesError, file_names, load_ef_files
from tests.vectors import BSI_DATASET


def test_bsi_dataset_naming() -> None:
    files = load_ef_files(BSI_DATASET)
    assert list(files) == [Ef.COM, Ef.SOD, Ef.DG1, Ef.DG2, Ef.DG3, Ef.DG4, Ef.DG14, Ef.DG15]
    assert files[Ef.DG2] == (BSI_DATASET / "Datagroup2.bin").read_bytes()
    assert files[Ef.SOD] == (BSI_DATASET / "EF_SOD.bin").read_bytes()
    assert Ef.CARD_ACCESS not in files


def test_our_naming(tmp_path: Path) -> None:
    contents = {ef: bytes((i + 1,)) * (i + 1) for i, ef in enumerate(Ef)}
    for ef, data in contents.items():
        (tmp_path / ef.file_name).write_bytes(data)
    (tmp_path / "notes.txt").write_text("ignored")
    files = load_ef_files(str(tmp_path))
    assert dict(files) == contents
    assert list(files) == list(Ef)


def test_names() -> None:
    assert file_names(Ef.DG13) == ("DG13.bin", "Datagroup13.bin")
    assert file_names(Ef.COM) == ("EF_COM.bin",)
    assert file_names(Ef.CARD_ACCESS) == ("EF_CardAccess.bin",)
    assert file_names(Ef.SOD) == ("EF_SOD.bin",)


def test_same_file_under_both_names_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "DG1.bin").write_bytes(b"\x61\x00")
    (tmp_path / "Datagroup1.bin").write_bytes(b"\x61\x00")
    assert dict(load_ef_files(tmp_path)) == {Ef.DG1: b"\x61\x00"}


def test_conflicting_copies_are_refused(tmp_path: Path) -> None:
    (tmp_path / "DG1.bin").write_bytes(b"\x61\x00")
    (tmp_path / "Datagroup1.bin").write_bytes(b"\x61\x01\x00")
    with pytest.raises(
        SavedFilesError, match=re.escape("Datagroup1.bin: differs from the DG1")
    ) as info:
        load_ef_files(tmp_path)
    assert info.value.path == tmp_path / "Datagroup1.bin"


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(SavedFilesError, match="does not exist") as info:
        load_ef_files(tmp_path / "nowhere")
    assert isinstance(info.value, CardError)
    assert info.value.path == tmp_path / "nowhere"


def test_file_instead_of_folder(tmp_path: Path) -> None:
    path = tmp_path / "EF_COM.bin"
    path.write_bytes(b"\x60\x00")
    with pytest.raises(SavedFilesError, match="is not a folder"):
        load_ef_files(path)


def test_folder_without_ef_files(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("x")
    with pytest.raises(SavedFilesError, match="holds no EF file"):
        load_ef_files(tmp_path)


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "EF_SOD.bin").write_bytes(b"")
    with pytest.raises(SavedFilesError, match=re.escape("EF_SOD.bin: is empty")):
        load_ef_files(tmp_path)


def test_oversized_file(tmp_path: Path) -> None:
    with (tmp_path / "DG2.bin").open("wb") as handle:
        handle.truncate(MAX_FILE_SIZE + 1)
    with pytest.raises(SavedFilesError, match=f"{MAX_FILE_SIZE + 1} bytes exceed"):
        load_ef_files(tmp_path)


def test_largest_accepted_file(tmp_path: Path) -> None:
    with (tmp_path / "DG2.bin").open("wb") as handle:
        handle.truncate(MAX_FILE_SIZE)
    assert len(load_ef_files(tmp_path)[Ef.DG2]) == MAX_FILE_SIZE


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files regardless of permissions")
def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "DG1.bin"
    path.write_bytes(b"\x61\x00")
    path.chmod(0)
    with pytest.raises(SavedFilesError, match=re.escape("DG1.bin: cannot be read")):
        load_ef_files(tmp_path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads folders regardless of permissions")
def test_unreadable_folder(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    (folder / "DG1.bin").write_bytes(b"\x61\x00")
    folder.chmod(0)
    try:
        with pytest.raises(SavedFilesError, match="permission denied"):
            load_ef_files(folder)
    finally:
        folder.chmod(0o700)


def test_read_error_is_reported_with_its_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "DG1.bin").write_bytes(b"\x61\x00")

    def refuse(self: Path, *args: object, **kwargs: object) -> object:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", refuse)
    with pytest.raises(SavedFilesError, match=r"DG1\.bin: cannot be read \(Permission denied\)"):
        load_ef_files(tmp_path)
