"""Processes as Linux's /proc shows them (proc(5), ``/proc/PID/stat``): what the simulators
need to stop what they started by PID, and what tests need to prove nothing is left behind.

A zombie (``Z``) or dead (``X``) process counts as gone: it runs nothing, and only its
parent can reap it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True)
class ProcStat:
    """One process's ``stat`` line: the fields these tools read."""

    pid: int
    command: str
    """The executable's name (``comm``, at most 15 characters)."""
    state: str
    ppid: int
    session: int
    start_time: int
    """Clock ticks after boot: with the PID, names this very process (PIDs are reused)."""

    @property
    def alive(self) -> bool:
        return self.state not in ("Z", "X")


def proc_stat(pid: int) -> ProcStat | None:
    """The process ``pid`` now, ``None`` once it is gone from /proc."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # pid (comm) state ppid pgrp session ...: comm may hold spaces and ")".
    command = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    return ProcStat(pid, command, fields[0], int(fields[1]), int(fields[3]), int(fields[19]))


def processes() -> Iterator[ProcStat]:
    """Every process /proc lists (zombies among them)."""
    for entry in PROC.iterdir():
        if entry.name.isdigit() and (found := proc_stat(int(entry.name))) is not None:
            yield found


def alive(pid: int) -> bool:
    """Whether ``pid`` is a running (not zombie) process."""
    found = proc_stat(pid)
    return found is not None and found.alive


def children_of(pid: int) -> list[ProcStat]:
    """The processes whose parent is ``pid`` (zombies among them)."""
    return [process for process in processes() if process.ppid == pid]


def descendants(pid: int) -> set[int]:
    """Every process below ``pid``, at any depth (zombies among them)."""
    parents = {process.pid: process.ppid for process in processes()}
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found
