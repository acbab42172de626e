"""A virtual chip from a folder of EF files plus key files (e.g. the BSI TR-03105-5 set).

Files are found by their saved names (``DG1.bin`` or ``Datagroup1.bin``, ``EF_SOD.bin``);
``DG14_sk.pkcs8`` and ``DG15_sk.pkcs8`` hold the Chip and Active Authentication private
keys. The BAC key comes from DG1's MRZ; without EF_CardAccess.bin the chip has no PACE.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_der_private_key

from cardreader.access.chip_auth_info import parse_dg14, select_chip_authentication
from cardreader.crypto.pace_mapping import RandomSource
from cardreader.files.ids import Ef
from cardreader.lds.dg1 import parse_dg1
from cardreader.lds.files import load_ef_files
from simulators.chip.active_auth import ActiveAuthentication
from simulators.chip.active_auth import Fault as AaFault
from simulators.chip.card import ChipConfig, EmrtdChip
from simulators.chip.chip_auth import ChipAuthentication, ChipAuthenticationKey
from simulators.chip.chip_auth import Fault as CaFault
from simulators.faults import Fault, FaultSpec, find
from simulators.issuance.card import length_capabilities, tamper

CA_KEY_FILE = "DG14_sk.pkcs8"
AA_KEY_FILE = "DG15_sk.pkcs8"


def chip_from_folder(
    folder: Path, faults: tuple[FaultSpec, ...] = (), rng: RandomSource = secrets
) -> EmrtdChip:
    """The chip holding ``folder``'s files and keys; raises ValueError on what is missing."""
    saved = load_ef_files(folder)
    files = {ef.fid: data for ef, data in saved.items() if ef is not Ef.CARD_SECURITY}
    if Ef.DG1 not in saved:
        raise ValueError(f"{folder} has no DG1: the BAC key comes from its MRZ")
    tampered = find(faults, Fault.TAMPERED_DG)
    if tampered is not None:
        fid = 0x0100 + (tampered.value or 1)
        files[fid] = tamper(files[fid])
    ca = None
    ca_key_path = folder / CA_KEY_FILE
    if ca_key_path.exists() and Ef.DG14 in saved:
        choice = select_chip_authentication(parse_dg14(saved[Ef.DG14]))
        ca = ChipAuthentication(
            ChipAuthenticationKey.from_pkcs8(ca_key_path.read_bytes()),
            choice.protocol.oid,
            key_id=choice.key_id,
            fault=CaFault.WRONG_KEY if find(faults, Fault.CA_CLONE) else CaFault.NONE,
            rng=rng,
        )
    aa = None
    aa_key_path = folder / AA_KEY_FILE
    if aa_key_path.exists():
        key = load_der_private_key(aa_key_path.read_bytes(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise ValueError(f"{aa_key_path} holds neither an RSA nor an EC key")
        fault = AaFault.WRONG_KEY if find(faults, Fault.AA_CLONE) else AaFault.NONE
        aa = ActiveAuthentication(key, fault=fault, rng=rng)
    extended_length, atr = length_capabilities(faults)
    config = ChipConfig(
        files=files,
        card_security=saved.get(Ef.CARD_SECURITY),
        mrz_information=parse_dg1(saved[Ef.DG1]).bac_information,
        extended_length=extended_length,
        atr=atr,
    )
    return EmrtdChip(
        config, None, rng.token_bytes, chip_authentication=ca, active_authentication=aa
    )
