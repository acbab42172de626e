"""Load EF files saved in a folder, by name, for offline parsing and verification.

Names as ``cccd read --out`` writes them (``EF_COM.bin``, ``DG1.bin`` … ``DG16.bin``,
``EF_SOD.bin``, ``EF_CardAccess.bin``; see :attr:`Ef.file_name`) and the BSI TR-03105-5
naming of data groups (``Datagroup1.bin``). Files larger than the reader's own limit are
refused, as are empty files and a data group saved under both names with different bytes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from cardreader.errors import CardError
from cardreader.files.ids import Ef
from cardreader.files.reader import MAX_FILE_SIZE

BSI_PREFIX = "Datagroup"
"""BSI TR-03105-5 data set naming: ``Datagroup<n>.bin`` for DG<n>."""


class SavedFilesError(CardError):
    """The folder of saved EF files cannot be used; ``path`` names the culprit."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


def file_names(ef: Ef) -> tuple[str, ...]:
    """The names ``ef`` may be saved under, ours first."""
    if ef.name.startswith("DG"):
        return ef.file_name, f"{BSI_PREFIX}{ef.name[2:]}.bin"
    return (ef.file_name,)


def _read(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > MAX_FILE_SIZE:
                raise SavedFilesError(path, f"{size} bytes exceed the {MAX_FILE_SIZE} allowed")
            data = handle.read(MAX_FILE_SIZE + 1)
    except OSError as exc:
        raise SavedFilesError(path, f"cannot be read ({exc.strerror or exc})") from exc
    if len(data) > MAX_FILE_SIZE:
        raise SavedFilesError(path, f"grew beyond the {MAX_FILE_SIZE} bytes allowed")
    if not data:
        raise SavedFilesError(path, "is empty")
    return data


def load_ef_files(folder: str | os.PathLike[str]) -> Mapping[Ef, bytes]:
    """Every known EF file in ``folder``, keyed by file, in :class:`Ef` order.

    Raises :class:`SavedFilesError` when the folder is missing or unreadable, holds no EF
    file, or a file is unreadable, empty, too large or saved twice with different bytes.
    """
    root = Path(folder)
    if not root.is_dir():
        reason = "is not a folder" if root.exists() else "does not exist"
        raise SavedFilesError(root, reason)
    if not os.access(root, os.R_OK | os.X_OK):
        raise SavedFilesError(root, "cannot be read (permission denied)")
    found: dict[Ef, bytes] = {}
    for ef in Ef:
        for name in file_names(ef):
            path = root / name
            if not path.is_file():
                continue
            data = _read(path)
            if ef in found and found[ef] != data:
                raise SavedFilesError(path, f"differs from the {ef.name} saved under another name")
            found[ef] = data
    if not found:
        raise SavedFilesError(root, "holds no EF file (EF_COM.bin, DG1.bin, Datagroup1.bin, ...)")
    return MappingProxyType(found)
