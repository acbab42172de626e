"""Run a private pcscd with the vpcd driver for tests and demos.

:class:`PcscDaemon` starts ``pcscd --foreground`` as a child process, keeps its PID,
captures its log to a file and stops it by PID (SIGTERM, then SIGKILL). Checked against
pcsc-lite 1.9.9 and vsmartcard-vpcd 0.8 (Debian 12):

Isolated mode (the default where it works)
    pcscd ignores ``PCSCLITE_CSOCK_NAME`` (its socket path is compiled in as
    ``/run/pcscd/pcscd.comm``), but Debian builds it with libsystemd and it accepts a
    listening socket handed over by the systemd socket-activation protocol
    (``LISTEN_FDS=1``, ``LISTEN_PID``, the socket on fd 3; its log then says
    "Started by systemd"). We bind a Unix socket at a private path, pass it that way,
    and clients reach this pcscd by setting ``PCSCLITE_CSOCK_NAME`` to that path.
    ``pcscd -c FILE`` reads our own reader.conf whose vpcd line is
    ``DEVICENAME /dev/null:0xPORT``: slot 0 listens on PORT and slot 1 on PORT+1, two
    free ports chosen at run time. Several sessions (and a system pcscd) can run side
    by side without touching each other's socket or ports.

    The one shared file left is ``/run/pcscd/pcscd.pid``: pcscd always writes it and
    removes it on exit. If a system pcscd owned it, we put its PID back afterwards.

System mode (``isolated=False``; also the automatic fallback when the pcscd binary has
no socket activation)
    pcscd creates the system socket ``/run/pcscd/pcscd.comm`` and every client of the
    machine talks to it; only one such pcscd can run. A stale socket/PID file left by a
    killed pcscd is removed first; a live one is an error. The vpcd ports are still
    private (``-c``).

Client side: libpcsclite (which pyscard links at import) reads ``PCSCLITE_CSOCK_NAME``
once, at the process's first ``SCardEstablishContext``, and caches it for the life of
the process; later changes of the variable, even after all contexts are released, have
no effect. So set it (``os.environ.update(daemon.client_env())``) before the first PC/SC
call of the process, or start the client as a subprocess with that environment.

pcscd needs root: it writes ``/run/pcscd/pcscd.pid`` (the directory is compiled in).
As another user it works only if ``/run/pcscd`` already exists and is writable by you;
otherwise :class:`PcscDaemonPermissionError` explains this before anything starts.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Final, Literal, TypeVar

__all__ = [
    "DRIVER_PATH",
    "SYSTEM_PID_FILE",
    "SYSTEM_RUN_DIR",
    "SYSTEM_SOCKET",
    "PcscDaemon",
    "PcscDaemonError",
    "PcscDaemonPermissionError",
    "find_pcscd",
    "supports_socket_activation",
]

_log = logging.getLogger(__name__)

SYSTEM_RUN_DIR: Final = Path("/run/pcscd")
SYSTEM_SOCKET: Final = SYSTEM_RUN_DIR / "pcscd.comm"
SYSTEM_PID_FILE: Final = SYSTEM_RUN_DIR / "pcscd.pid"
DRIVER_PATH: Final = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")
_SEARCH_PATH: Final = "/usr/sbin:/usr/local/sbin:/sbin"
_LISTEN_FDS_START: Final = 3  # sd_listen_fds(3): passed sockets start at fd 3
_POLL_INTERVAL: Final = 0.005
_TCP_LISTEN_STATE: Final = "0A"

LogLevel = Literal["debug", "info", "error", "critical"]
_T = TypeVar("_T")

# Runs between fork and pcscd: puts the socket on fd 3 and names pcscd's own PID in
# LISTEN_PID, which a plain Popen cannot know before exec.
_ACTIVATE = (
    "import os, sys\n"
    "fd = int(sys.argv[1])\n"
    "if fd != 3:\n"
    "    os.dup2(fd, 3)\n"
    "    os.close(fd)\n"
    "os.environ['LISTEN_PID'] = str(os.getpid())\n"
    "os.environ['LISTEN_FDS'] = '1'\n"
    "os.execv(sys.argv[2], sys.argv[2:])\n"
)


class PcscDaemonError(RuntimeError):
    """pcscd could not be started or stopped."""


class PcscDaemonPermissionError(PcscDaemonError):
    """The current user cannot run pcscd."""


def find_pcscd() -> str | None:
    """Return the path of the pcscd binary, or ``None`` if it is not installed."""
    return shutil.which("pcscd") or shutil.which("pcscd", path=_SEARCH_PATH)


def supports_socket_activation(pcscd: str) -> bool:
    """Whether this pcscd binary was built with libsystemd (``sd_listen_fds``)."""
    try:
        return b"sd_listen_fds" in Path(pcscd).read_bytes()
    except OSError:
        return False


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _free_port_pair(host: str = "0.0.0.0") -> int:
    """Return a port P such that P and P+1 are both free right now (vpcd's two slots)."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as first:
            first.bind((host, 0))
            port: int = first.getsockname()[1]
            if port >= 0xFFFF:
                continue
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as second:
                try:
                    second.bind((host, port + 1))
                except OSError:
                    continue
                return port
    raise PcscDaemonError("could not find two consecutive free TCP ports for vpcd")


def _listening_tcp_ports() -> set[int]:
    """Ports in LISTEN state on this host, read from /proc (never connect: for vpcd a
    TCP connection counts as inserting a card)."""
    ports: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 3 and fields[3] == _TCP_LISTEN_STATE:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


class PcscDaemon:
    """A pcscd child process with the vpcd driver, as a context manager.

    >>> with PcscDaemon() as daemon:                      # doctest: +SKIP
    ...     os.environ.update(daemon.client_env())        # before the first PC/SC call
    ...     slot = VirtualReaderSlot(daemon.vpcd_ports[0])

    ``isolated``: ``None`` picks isolated mode when the binary supports socket
    activation (see the module docstring). ``vpcd_port``: slot 0's port (slot 1 uses the
    next one); ``None`` picks free ports. ``log_apdus`` passes ``--apdu``: every APDU
    in the log, so never with a real card holding personal data.
    """

    def __init__(
        self,
        *,
        workdir: Path | str | None = None,
        isolated: bool | None = None,
        vpcd_port: int | None = None,
        friendly_name: str = "Virtual PCD",
        log_level: LogLevel = "info",
        log_apdus: bool = False,
        pcscd_path: str | None = None,
        start_timeout: float = 10.0,
        stop_timeout: float = 5.0,
    ) -> None:
        if '"' in friendly_name or "\n" in friendly_name:
            raise ValueError("friendly_name may not contain quotes or newlines")
        self._workdir_arg = Path(workdir) if workdir is not None else None
        self._isolated_arg = isolated
        self._port_arg = vpcd_port
        self.friendly_name = friendly_name
        self.log_level: LogLevel = log_level
        self.log_apdus = log_apdus
        self._pcscd_arg = pcscd_path
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout

        self._process: subprocess.Popen[bytes] | None = None
        self._workdir: Path | None = None
        self._own_workdir = False
        self._log_path: Path | None = None
        self._socket_path: Path | None = None
        self._ports: tuple[int, int] | None = None
        self._isolated = False
        self._foreign_pid: int | None = None

    # -- what clients and cards need --

    @property
    def pid(self) -> int | None:
        """PID of the running pcscd, ``None`` when stopped."""
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def isolated(self) -> bool:
        """Whether this pcscd listens on a private socket (see the module docstring)."""
        return self._isolated

    @property
    def socket_path(self) -> Path:
        """The Unix socket clients connect to."""
        return self._require(self._socket_path, "socket_path")

    @property
    def vpcd_ports(self) -> tuple[int, int]:
        """TCP ports of vpcd's two slots (where a :class:`VirtualReaderSlot` connects)."""
        return self._require(self._ports, "vpcd_ports")

    @property
    def reader_names(self) -> tuple[str, str]:
        """Reader names pyscard shows for the two slots, in port order."""
        return (f"{self.friendly_name} 00 00", f"{self.friendly_name} 00 01")

    @property
    def log_path(self) -> Path:
        """File holding pcscd's stderr."""
        return self._require(self._log_path, "log_path")

    def client_env(self) -> dict[str, str]:
        """Environment a PC/SC client needs to reach this pcscd (empty in system mode)."""
        if self._isolated:
            return {"PCSCLITE_CSOCK_NAME": str(self.socket_path)}
        return {}

    def log_text(self) -> str:
        """pcscd's log so far (for error messages and debugging)."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    # -- lifecycle --

    def start(self) -> PcscDaemon:
        """Start pcscd and return once its vpcd ports listen (and its socket exists)."""
        if self._process is not None:
            raise PcscDaemonError(f"pcscd already started (pid {self._process.pid})")
        pcscd = self._pcscd_arg or find_pcscd()
        if pcscd is None:
            raise PcscDaemonError(
                "pcscd is not installed: run `make deps` (Debian packages pcscd and "
                "vsmartcard-vpcd)"
            )
        if not DRIVER_PATH.exists():
            raise PcscDaemonError(
                f"the vpcd driver {DRIVER_PATH} is missing: install vsmartcard-vpcd (`make deps`)"
            )
        self._check_permissions()
        isolated = self._isolated_arg
        if isolated is None:
            isolated = supports_socket_activation(pcscd)
        self._isolated = isolated

        self._setup_workdir()
        workdir = self._require(self._workdir, "workdir")
        first_port = self._port_arg if self._port_arg is not None else _free_port_pair()
        self._ports = (first_port, first_port + 1)
        conf = workdir / "reader.conf"
        conf.write_text(
            f'FRIENDLYNAME "{self.friendly_name}"\n'
            f"DEVICENAME   /dev/null:0x{first_port:X}\n"
            f"LIBPATH      {DRIVER_PATH}\n"
            f"CHANNELID    0x{first_port:X}\n"
        )
        self._log_path = workdir / "pcscd.log"
        argv = [pcscd, "--foreground", f"--{self.log_level}", "--config", str(conf)]
        if self.log_apdus:
            argv.append("--apdu")

        self._foreign_pid = _read_pid(SYSTEM_PID_FILE)
        if self._foreign_pid is not None and not _pid_alive(self._foreign_pid):
            self._foreign_pid = None
        try:
            if isolated:
                self._spawn_isolated(argv, workdir)
            else:
                self._spawn_system(argv)
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        _log.debug(
            "pcscd %d ready: socket %s, vpcd ports %s", self.pid, self._socket_path, self._ports
        )
        return self

    def stop(self) -> None:
        """Stop pcscd by PID: SIGTERM, then SIGKILL after ``stop_timeout``. Idempotent."""
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(self.stop_timeout)
                except subprocess.TimeoutExpired:
                    _log.warning("pcscd %d ignored SIGTERM; killing it", process.pid)
                    process.kill()
                    process.wait()
            _log.debug("pcscd %d exited with %s", process.pid, process.returncode)
        if self._isolated and self._socket_path is not None:
            with contextlib.suppress(FileNotFoundError):
                self._socket_path.unlink()
        elif process is not None and process.returncode == -signal.SIGKILL:
            # A killed pcscd leaves its socket and PID file behind.
            for stale in (SYSTEM_SOCKET, SYSTEM_PID_FILE):
                with contextlib.suppress(FileNotFoundError):
                    stale.unlink()
        if process is not None and _read_pid(SYSTEM_PID_FILE) == process.pid:
            with contextlib.suppress(OSError):
                SYSTEM_PID_FILE.unlink()  # ours, left behind by a SIGKILL
        self._restore_foreign_pid_file()
        if self._own_workdir and self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def __enter__(self) -> PcscDaemon:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- internals --

    @staticmethod
    def _require(value: _T | None, name: str) -> _T:
        if value is None:
            raise PcscDaemonError(f"{name} is only known once pcscd has been started")
        return value

    def _check_permissions(self) -> None:
        if os.geteuid() == 0:
            return
        if SYSTEM_RUN_DIR.is_dir() and os.access(SYSTEM_RUN_DIR, os.W_OK | os.X_OK):
            return
        raise PcscDaemonPermissionError(
            f"pcscd must run as root: it always writes its PID file into {SYSTEM_RUN_DIR} "
            "(compiled in), which only root may create. Run the tests as root (as CI "
            f"does), or let your user write there once: sudo install -d -m 0777 "
            f"{SYSTEM_RUN_DIR}"
        )

    def _setup_workdir(self) -> None:
        if self._workdir_arg is not None:
            self._workdir_arg.mkdir(parents=True, exist_ok=True)
            self._workdir = self._workdir_arg.resolve()
            self._own_workdir = False
        else:
            self._workdir = Path(tempfile.mkdtemp(prefix="pcscd-"))
            self._own_workdir = True
        # pcscd runs with cwd=/ and as root; let other users traverse to the socket.
        self._workdir.chmod(0o755)

    def _spawn_isolated(self, argv: list[str], workdir: Path) -> None:
        path = workdir / "pcscd.comm"
        if len(os.fsencode(path)) >= 108:
            raise PcscDaemonError(f"socket path too long for AF_UNIX: {path}")
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # stale socket of an earlier run in this workdir
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(str(path))
            path.chmod(0o666)  # as /run/pcscd/pcscd.comm: any local user may connect
            listener.listen(64)
            self._socket_path = path
            fd = listener.fileno()
            self._popen([sys.executable, "-I", "-S", "-c", _ACTIVATE, str(fd), *argv], (fd,))
        finally:
            listener.close()  # pcscd holds its own copy on fd 3

    def _spawn_system(self, argv: list[str]) -> None:
        if SYSTEM_SOCKET.exists() or SYSTEM_PID_FILE.exists():
            pid = _read_pid(SYSTEM_PID_FILE)
            if pid is not None and _pid_alive(pid):
                raise PcscDaemonError(
                    f"another pcscd (pid {pid}) already serves {SYSTEM_SOCKET}; stop it or "
                    "use isolated mode"
                )
            _log.debug("removing stale %s and %s", SYSTEM_SOCKET, SYSTEM_PID_FILE)
            for stale in (SYSTEM_SOCKET, SYSTEM_PID_FILE):
                with contextlib.suppress(FileNotFoundError):
                    stale.unlink()
        self._foreign_pid = None
        self._socket_path = SYSTEM_SOCKET
        self._popen(argv, pass_fds=())

    def _popen(self, argv: list[str], pass_fds: tuple[int, ...]) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LISTEN_")}
        with open(self.log_path, "wb") as log:
            self._process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=pass_fds,
                env=env,
                start_new_session=True,  # a Ctrl-C in the terminal does not reach it
            )

    def _wait_ready(self) -> None:
        """Poll (5 ms steps, bounded) until both vpcd ports listen and the socket exists."""
        process = self._require(self._process, "process")
        ports = set(self.vpcd_ports)
        deadline = time.monotonic() + self.start_timeout
        while True:
            if process.poll() is not None:
                raise PcscDaemonError(
                    f"pcscd exited with status {process.returncode} while starting; "
                    f"its log ({self.log_path}):\n{self.log_text()}"
                )
            if self.socket_path.exists() and ports <= _listening_tcp_ports():
                self._check_activation()
                return
            if time.monotonic() > deadline:
                raise PcscDaemonError(
                    f"pcscd did not get ready within {self.start_timeout} s (socket "
                    f"{self.socket_path}, vpcd ports {self.vpcd_ports}); its log:\n"
                    f"{self.log_text()}"
                )
            time.sleep(_POLL_INTERVAL)

    def _check_activation(self) -> None:
        """In isolated mode, make sure pcscd took our socket instead of the system one."""
        if not self._isolated or self.log_level not in ("debug", "info"):
            return
        if "Started by systemd" not in self.log_text():
            raise PcscDaemonError(
                "pcscd ignored the socket passed by socket activation and serves "
                f"{SYSTEM_SOCKET} instead; use PcscDaemon(isolated=False). Its log:\n"
                f"{self.log_text()}"
            )

    def _restore_foreign_pid_file(self) -> None:
        """Put back the PID file of a system pcscd that ours overwrote and removed."""
        pid, self._foreign_pid = self._foreign_pid, None
        if pid is None or not _pid_alive(pid):
            return
        with contextlib.suppress(OSError):
            SYSTEM_PID_FILE.write_text(f"{pid}\n")
