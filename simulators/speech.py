"""A private speech-dispatcher whose sound goes to a file, so a test can hear the kiosk.

Debian's speech-dispatcher with its espeak-ng module (packages speech-dispatcher,
speech-dispatcher-espeak-ng, espeak-ng) runs as a single-application server on its own
socket, with its own configuration: Vietnamese by default, ALSA output. ALSA's ``file``
plugin, configured in a private ``$HOME/.asoundrc``, writes every sample the module plays
to ``audio.raw`` (signed 16-bit little-endian, mono, at the module's rate) and discards
the sound itself (``null``), so no sound card is needed. The kiosk's speech process
reaches it through ``SPEECHD_ADDRESS``, as it would reach the system's.
"""

from __future__ import annotations

import math
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

SPEECHD_CONF = """\
AudioOutputMethod "alsa"
DefaultModule espeak-ng
DefaultLanguage "vi"
AddModule "espeak-ng" "sd_espeak-ng" "espeak-ng.conf"
"""
ASOUNDRC = """\
pcm.!default {{
    type file
    slave.pcm "null"
    file "{path}"
    format "raw"
}}
"""
NO_SPEECHD = {
    "SPEECHD_ADDRESS": "unix_socket:/nonexistent/speechd.sock",
    "SPEECHD_CMD": "/bin/false",
}
"""An environment where no speech-dispatcher answers and none is started: libspeechd
autospawns ``SPEECHD_CMD`` (a daemon that outlives its caller) when the address is
silent, and ``false`` refuses at once. Kiosks under it stay silent."""
SAMPLE_BYTES = 2
READY_TIMEOUT_S = 10.0


def available() -> bool:
    """speech-dispatcher and its espeak-ng module are installed."""
    return (
        shutil.which("speech-dispatcher") is not None
        and Path("/usr/lib/speech-dispatcher-modules/sd_espeak-ng").exists()
    )


def rms(samples: bytes) -> float:
    """Root mean square of signed 16-bit little-endian samples (0 for none)."""
    count = len(samples) // SAMPLE_BYTES
    if count == 0:
        return 0.0
    values = struct.unpack(f"<{count}h", samples[: count * SAMPLE_BYTES])
    return math.sqrt(sum(v * v for v in values) / count)


class RecordingSpeechDispatcher:
    """``with RecordingSpeechDispatcher() as speechd:`` then ``speechd.address`` for
    ``SPEECHD_ADDRESS`` and ``speechd.audio()`` for what was spoken so far."""

    def __init__(self) -> None:
        # Short: AF_UNIX paths are limited to 107 bytes.
        self.folder = Path(tempfile.mkdtemp(prefix="spd-", dir="/tmp"))
        self.audio_path = self.folder / "audio.raw"
        self.socket_path = self.folder / "sock"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"unix_socket:{self.socket_path}"

    def audio(self) -> bytes:
        return self.audio_path.read_bytes() if self.audio_path.exists() else b""

    def __enter__(self) -> RecordingSpeechDispatcher:
        conf = self.folder / "conf"
        (conf / "modules").mkdir(parents=True)
        (conf / "speechd.conf").write_text(SPEECHD_CONF)
        system_module = Path("/etc/speech-dispatcher/modules/espeak-ng.conf")
        if system_module.exists():
            shutil.copy(system_module, conf / "modules")
        home = self.folder / "home"
        home.mkdir()
        (home / ".asoundrc").write_text(ASOUNDRC.format(path=self.audio_path))
        env = {**os.environ, "HOME": str(home), "XDG_RUNTIME_DIR": str(self.folder)}
        self._process = subprocess.Popen(
            [
                "speech-dispatcher", "--run-single", "--timeout", "0",
                "--config-dir", str(conf), "--socket-path", str(self.socket_path),
                "--pid-file", str(self.folder / "pid"), "--log-dir", str(self.folder),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            self._wait_ready()
        except BaseException:
            self.close()
            raise
        return self

    def _wait_ready(self) -> None:
        end = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < end:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(f"speech-dispatcher exited ({self._process.returncode})")
            try:
                with socket.socket(socket.AF_UNIX) as probe:
                    probe.connect(str(self.socket_path))
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("speech-dispatcher did not open its socket")

    def close(self) -> None:
        """Stop speech-dispatcher and its module, and remove the folder."""
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(5.0)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        shutil.rmtree(self.folder, ignore_errors=True)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
