"""The kiosk configuration of the simulated hospital: its departments, staff PIN, facility
code and gateway account, and the ``kiosk.toml`` that points the kiosk at the simulated
services (:func:`write_kiosk_config`), XML0 reporting on."""

from __future__ import annotations

from pathlib import Path

from kiosk.pin import hash_pin

STAFF_PIN = "1357"
"""The simulated hospital's staff PIN (the kiosk refuses its shipped default, 2468)."""
GATEWAY_ACCOUNT = {
    "BHXH_USERNAME": "kiosk",
    "BHXH_PASSWORD": "kiosk-password",
    "BHXH_STAFF_NAME": "Trần Thị Bình",
    "BHXH_STAFF_ID": "079190000001",
}
"""The kiosk's account at the simulated BHXH gateway, as environment variables."""
FACILITY_CODE = "79024"
"""The simulated hospital's ``MA_CSKCB``."""
XML0_INTERVAL_S = 0.5
"""How often the kiosk's XML0 worker looks at its queue (a real kiosk: seconds)."""
FLEET_STORE_TIMEOUT_S = 10.0
"""``[store] timeout_s`` of a kiosk on the hospital's PostgreSQL: kiosks starting side by
side on one busy machine may wait that long for their first connection."""

DEPARTMENTS = (
    ("K01", "Khám Nội", "Internal medicine", "101"),
    ("K02", "Khám Ngoại", "Surgery", "105"),
    ("K03", "Tai Mũi Họng", "Ear, nose and throat", "203"),
    ("K04", "Răng Hàm Mặt", "Dentistry", "207"),
    ("K05", "Nhi", "Paediatrics", "110"),
    ("K06", "Mắt", "Ophthalmology", "301"),
)
"""The departments the kiosk offers: code, Vietnamese and English names, room."""

KIOSK_TOML = """\
[kiosk]
fullscreen = false
voice = true
facility_type = "{facility_type}"

[timeouts]
idle_s = {idle_s}
countdown_s = {countdown_s}
ticket_s = 20
problem_s = 40
lookup_s = {lookup_s}
check_in_s = 10

[card]
reader = "{reader}"
csca = ["{csca}"]
poll_s = 0.2

[scanner]
port = "{scanner}"

[printer]
port = "{printer}"
baudrate = {printer_baudrate}
timeout_s = 2

[counters]
help = 1
insurance = 2

{departments}

[gateway]
url = "{gateway}"
timeout_s = 5
attempts = 2
backoff_s = 0.05

[his]
kind = "hl7"
host = "127.0.0.1"
port = {his_port}
timeout_s = 3

[store]
path = "{store}"{fleet_store}

[hospital]
facility_code = "{facility_code}"

[xml0]
enabled = true
province = "79"
service_code = "02.1896"
service_name = "Khám bệnh"
p12 = "{p12}"
timeout_s = 5
interval_s = {xml0_interval_s}

[admin]
pin_hash = "{pin_hash}"
"""


def write_kiosk_config(
    path: Path,
    *,
    reader: str,
    csca: Path,
    scanner: str,
    printer: str,
    gateway: str,
    his_port: int,
    store: Path,
    p12: Path,
    lookup_s: float,
    idle_s: float,
    countdown_s: float,
    facility_type: str,
    printer_baudrate: int = 115_200,
    store_url: str = "",
    kiosk_id: str = "",
) -> Path:
    """Write the kiosk's configuration for these services to ``path``; returns ``path``.
    With ``store_url`` (no password in it) the hospital's store is that PostgreSQL and
    ``store`` this kiosk's journal, ``kiosk_id`` its name."""
    departments = "\n".join(
        f'[[departments]]\ncode = "{code}"\nname_vi = "{vi}"\nname_en = "{en}"\nroom = "{room}"\n'
        for code, vi, en, room in DEPARTMENTS
    )
    path.write_text(
        KIOSK_TOML.format(
            reader=reader,
            csca=csca,
            scanner=scanner,
            printer=printer,
            gateway=gateway,
            his_port=his_port,
            store=store,
            fleet_store=(
                f'\nurl = "{store_url}"\nkiosk_id = "{kiosk_id}"\n'
                f"timeout_s = {FLEET_STORE_TIMEOUT_S}"
                if store_url
                else ""
            ),
            departments=departments,
            lookup_s=lookup_s,
            idle_s=idle_s,
            countdown_s=countdown_s,
            facility_type=facility_type,
            printer_baudrate=printer_baudrate,
            pin_hash=hash_pin(STAFF_PIN),
            facility_code=FACILITY_CODE,
            p12=p12,
            xml0_interval_s=XML0_INTERVAL_S,
        ),
        encoding="utf-8",
    )
    return path
