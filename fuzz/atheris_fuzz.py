"""Coverage-guided fuzzing of one target of :mod:`fuzz.targets` with atheris (libFuzzer).

Optional: atheris is not needed by CI (the hypothesis harness in tests/hardening runs
there). Install it with ``.venv/bin/pip install -e '.[fuzz]'`` (a binary wheel for
CPython 3.11 on x86-64 Linux; no compiler needed). Then::

    .venv/bin/python -m fuzz.atheris_fuzz --list
    .venv/bin/python -m fuzz.atheris_fuzz dg13 -runs=100000
    .venv/bin/python -m fuzz.atheris_fuzz sod -max_total_time=600 corpus/sod

Arguments after the target go to libFuzzer. Without a corpus directory the target's seeds
are written to a temporary one. A finding (an exception other than the target's allowed
errors) stops the run and libFuzzer saves the input as ``crash-<sha1>``; replay it with
``python -m fuzz.atheris_fuzz TARGET crash-<sha1>``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import atheris  # type: ignore[import-untyped]

with atheris.instrument_imports(include=["cardreader", "hospital_adapter", "asn1crypto", "hl7"]):
    from fuzz.targets import TARGETS, Target, run_one


def _seed_corpus(target: Target) -> str:
    folder = Path(tempfile.mkdtemp(prefix=f"fuzz-{target.name}-"))
    for number, seed in enumerate(target.seeds()):
        (folder / f"seed-{number}").write_bytes(seed)
    return str(folder)


def main(argv: list[str]) -> None:
    if len(argv) < 2 or argv[1] in ("-h", "--help", "--list"):
        print("targets:", " ".join(TARGETS))
        return
    target = TARGETS[argv[1]]
    libfuzzer = [argv[0], *argv[2:]]
    if not any(not arg.startswith("-") for arg in argv[2:]):
        libfuzzer.append(_seed_corpus(target))

    def test_one(data: bytes) -> None:
        run_one(target, data)

    atheris.Setup(libfuzzer, test_one)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
