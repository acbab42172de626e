"""Standardized domain parameters of PACE (ICAO 9303-11 §9.5.1 table 12, BSI TR-03110-3 A.2.1.1).

IDs 0-2 are the MODP groups of RFC 5114 §2.1-2.3; IDs 8-18 are the NIST curves of
FIPS 186-4 / SEC 2 and the Brainpool curves of RFC 5639 §3. IDs 3-7 and 19-31 are reserved.
The constants were exported from OpenSSL's built-in tables; ``tests/unit/test_domain_params.py``
checks each of them (primality, generator order, agreement with ``cryptography``).

:data:`NAMED_CURVES` is the library's one table of named curves: the OID of each curve in a
SubjectPublicKeyInfo and the ``cryptography`` class that verifies on it, if any.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from cryptography.hazmat.primitives.asymmetric import ec as crypto_ec

from cardreader.crypto.dh import DhGroup
from cardreader.crypto.ec import Curve, Point
from cardreader.errors import UnsupportedProtocolError

DomainParameters = Curve | DhGroup
"""Elliptic-curve or modular domain parameters."""


class StandardizedDomainParameter(enum.IntEnum):
    """The standardized domain parameter IDs (ICAO 9303-11 table 12)."""

    MODP_1024_160 = 0
    MODP_2048_224 = 1
    MODP_2048_256 = 2
    SECP192R1 = 8
    BRAINPOOL_P192R1 = 9
    SECP224R1 = 10
    BRAINPOOL_P224R1 = 11
    SECP256R1 = 12
    BRAINPOOL_P256R1 = 13
    BRAINPOOL_P320R1 = 14
    SECP384R1 = 15
    BRAINPOOL_P384R1 = 16
    BRAINPOOL_P512R1 = 17
    SECP521R1 = 18


def _hex(*parts: str) -> int:
    return int("".join(parts), 16)


STANDARDIZED_DOMAIN_PARAMETERS: Mapping[StandardizedDomainParameter, DomainParameters] = (
    MappingProxyType(
        {
            StandardizedDomainParameter.MODP_1024_160: DhGroup(
                name="1024-bit MODP group with 160-bit prime order subgroup",
                p=_hex(
                    "B10B8F96A080E01DDE92DE5EAE5D54EC52C99FBCFB06A3C69A6A9DCA52D23B61"
                    "6073E28675A23D189838EF1E2EE652C013ECB4AEA906112324975C3CD49B83BF"
                    "ACCBDD7D90C4BD7098488E9C219A73724EFFD6FAE5644738FAA31A4FF55BCCC0"
                    "A151AF5F0DC8B4BD45BF37DF365C1A65E68CFDA76D4DA708DF1FB2BC2E4A4371"
                ),
                g=_hex(
                    "A4D1CBD5C3FD34126765A442EFB99905F8104DD258AC507FD6406CFF14266D31"
                    "266FEA1E5C41564B777E690F5504F213160217B4B01B886A5E91547F9E2749F4"
                    "D7FBD7D3B9A92EE1909D0D2263F80A76A6A24C087A091F531DBF0A0169B6A28A"
                    "D662A4D18E73AFA32D779D5918D08BC8858F4DCEF97C2A24855E6EEB22B3B2E5"
                ),
                q=_hex("F518AA8781A8DF278ABA4E7D64B7CB9D49462353"),
            ),
            StandardizedDomainParameter.MODP_2048_224: DhGroup(
                name="2048-bit MODP group with 224-bit prime order subgroup",
                p=_hex(
                    "AD107E1E9123A9D0D660FAA79559C51FA20D64E5683B9FD1B54B1597B61D0A75"
                    "E6FA141DF95A56DBAF9A3C407BA1DF15EB3D688A309C180E1DE6B85A1274A0A6"
                    "6D3F8152AD6AC2129037C9EDEFDA4DF8D91E8FEF55B7394B7AD5B7D0B6C12207"
                    "C9F98D11ED34DBF6C6BA0B2C8BBC27BE6A00E0A0B9C49708B3BF8A3170918836"
                    "81286130BC8985DB1602E714415D9330278273C7DE31EFDC7310F7121FD5A074"
                    "15987D9ADC0A486DCDF93ACC44328387315D75E198C641A480CD86A1B9E587E8"
                    "BE60E69CC928B2B9C52172E413042E9B23F10B0E16E79763C9B53DCF4BA80A29"
                    "E3FB73C16B8E75B97EF363E2FFA31F71CF9DE5384E71B81C0AC4DFFE0C10E64F"
                ),
                g=_hex(
                    "AC4032EF4F2D9AE39DF30B5C8FFDAC506CDEBE7B89998CAF74866A08CFE4FFE3"
                    "A6824A4E10B9A6F0DD921F01A70C4AFAAB739D7700C29F52C57DB17C620A8652"
                    "BE5E9001A8D66AD7C17669101999024AF4D027275AC1348BB8A762D0521BC98A"
                    "E247150422EA1ED409939D54DA7460CDB5F6C6B250717CBEF180EB34118E98D1"
                    "19529A45D6F834566E3025E316A330EFBB77A86F0C1AB15B051AE3D428C8F8AC"
                    "B70A8137150B8EEB10E183EDD19963DDD9E263E4770589EF6AA21E7F5F2FF381"
                    "B539CCE3409D13CD566AFBB48D6C019181E1BCFE94B30269EDFE72FE9B6AA4BD"
                    "7B5A0F1C71CFFF4C19C418E1F6EC017981BC087F2A7065B384B890D3191F2BFA"
                ),
                q=_hex("801C0D34C58D93FE997177101F80535A4738CEBCBF389A99B36371EB"),
            ),
            StandardizedDomainParameter.MODP_2048_256: DhGroup(
                name="2048-bit MODP group with 256-bit prime order subgroup",
                p=_hex(
                    "87A8E61DB4B6663CFFBBD19C651959998CEEF608660DD0F25D2CEED4435E3B00"
                    "E00DF8F1D61957D4FAF7DF4561B2AA3016C3D91134096FAA3BF4296D830E9A7C"
                    "209E0C6497517ABD5A8A9D306BCF67ED91F9E6725B4758C022E0B1EF4275BF7B"
                    "6C5BFC11D45F9088B941F54EB1E59BB8BC39A0BF12307F5C4FDB70C581B23F76"
                    "B63ACAE1CAA6B7902D52526735488A0EF13C6D9A51BFA4AB3AD8347796524D8E"
                    "F6A167B5A41825D967E144E5140564251CCACB83E6B486F6B3CA3F7971506026"
                    "C0B857F689962856DED4010ABD0BE621C3A3960A54E710C375F26375D7014103"
                    "A4B54330C198AF126116D2276E11715F693877FAD7EF09CADB094AE91E1A1597"
                ),
                g=_hex(
                    "3FB32C9B73134D0B2E77506660EDBD484CA7B18F21EF205407F4793A1A0BA125"
                    "10DBC15077BE463FFF4FED4AAC0BB555BE3A6C1B0C6B47B1BC3773BF7E8C6F62"
                    "901228F8C28CBB18A55AE31341000A650196F931C77A57F2DDF463E5E9EC144B"
                    "777DE62AAAB8A8628AC376D282D6ED3864E67982428EBC831D14348F6F2F9193"
                    "B5045AF2767164E1DFC967C1FB3F2E55A4BD1BFFE83B9C80D052B985D182EA0A"
                    "DB2A3B7313D3FE14C8484B1E052588B9B7D2BBD2DF016199ECD06E1557CD0915"
                    "B3353BBB64E0EC377FD028370DF92B52C7891428CDC67EB6184B523D1DB246C3"
                    "2F63078490F00EF8D647D148D47954515E2327CFEF98C582664B4C0F6CC41659"
                ),
                q=_hex("8CF83642A709A097B447997640129DA299B1A47D1EB3750BA308B0FE64F5FBD3"),
            ),
            StandardizedDomainParameter.SECP192R1: Curve(
                name="secp192r1",
                native=True,
                p=_hex("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFFFFFFFFFF"),
                a=_hex("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFFFFFFFFFC"),
                b=_hex("64210519E59C80E70FA7E9AB72243049FEB8DEECC146B9B1"),
                g=Point(
                    _hex("188DA80EB03090F67CBF20EB43A18800F4FF0AFD82FF1012"),
                    _hex("07192B95FFC8DA78631011ED6B24CDD573F977A11E794811"),
                ),
                n=_hex("FFFFFFFFFFFFFFFFFFFFFFFF99DEF836146BC9B1B4D22831"),
            ),
            StandardizedDomainParameter.BRAINPOOL_P192R1: Curve(
                name="brainpoolP192r1",
                native=True,
                p=_hex("C302F41D932A36CDA7A3463093D18DB78FCE476DE1A86297"),
                a=_hex("6A91174076B1E0E19C39C031FE8685C1CAE040E5C69A28EF"),
                b=_hex("469A28EF7C28CCA3DC721D044F4496BCCA7EF4146FBF25C9"),
                g=Point(
                    _hex("C0A0647EAAB6A48753B033C56CB0F0900A2F5C4853375FD6"),
                    _hex("14B690866ABD5BB88B5F4828C1490002E6773FA2FA299B8F"),
                ),
                n=_hex("C302F41D932A36CDA7A3462F9E9E916B5BE8F1029AC4ACC1"),
            ),
            StandardizedDomainParameter.SECP224R1: Curve(
                name="secp224r1",
                native=True,
                p=_hex("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF000000000000000000000001"),
                a=_hex("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFE"),
                b=_hex("B4050A850C04B3ABF54132565044B0B7D7BFD8BA270B39432355FFB4"),
                g=Point(
                    _hex("B70E0CBD6BB4BF7F321390B94A03C1D356C21122343280D6115C1D21"),
                    _hex("BD376388B5F723FB4C22DFE6CD4375A05A07476444D5819985007E34"),
                ),
                n=_hex("FFFFFFFFFFFFFFFFFFFFFFFFFFFF16A2E0B8F03E13DD29455C5C2A3D"),
            ),
            StandardizedDomainParameter.BRAINPOOL_P224R1: Curve(
                name="brainpoolP224r1",
                native=True,
                p=_hex("D7C134AA264366862A18302575D1D787B09F075797DA89F57EC8C0FF"),
                a=_hex("68A5E62CA9CE6C1C299803A6C1530B514E182AD8B0042A59CAD29F43"),
                b=_hex("2580F63CCFE44138870713B1A92369E33E2135D266DBB372386C400B"),
                g=Point(
                    _hex("0D9029AD2C7E5CF4340823B2A87DC68C9E4CE3174C1E6EFDEE12C07D"),
                    _hex("58AA56F772C0726F24C6B89E4ECDAC24354B9E99CAA3F6D3761402CD"),
                ),
                n=_hex("D7C134AA264366862A18302575D0FB98D116BC4B6DDEBCA3A5A7939F"),
            ),
            StandardizedDomainParameter.SECP256R1: Curve(
                name="secp256r1",
                native=True,
                p=_hex("FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF"),
                a=_hex("FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFC"),
                b=_hex("5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B"),
                g=Point(
                    _hex("6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296"),
                    _hex("4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5"),
                ),
                n=_hex("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551"),
            ),
            StandardizedDomainParameter.BRAINPOOL_P256R1: Curve(
                name="brainpoolP256r1",
                native=True,
                p=_hex("A9FB57DBA1EEA9BC3E660A909D838D726E3BF623D52620282013481D1F6E5377"),
                a=_hex("7D5A0975FC2C3057EEF67530417AFFE7FB8055C126DC5C6CE94A4B44F330B5D9"),
                b=_hex("26DC5C6CE94A4B44F330B5D9BBD77CBF958416295CF7E1CE6BCCDC18FF8C07B6"),
                g=Point(
                    _hex("8BD2AEB9CB7E57CB2C4B482FFC81B7AFB9DE27E1E3BD23C23A4453BD9ACE3262"),
                    _hex("547EF835C3DAC4FD97F8461A14611DC9C27745132DED8E545C1D54C72F046997"),
                ),
                n=_hex("A9FB57DBA1EEA9BC3E660A909D838D718C397AA3B561A6F7901E0E82974856A7"),
            ),
            StandardizedDomainParameter.BRAINPOOL_P320R1: Curve(
                name="brainpoolP320r1",
                native=True,
                p=_hex(
                    "D35E472036BC4FB7E13C785ED201E065F98FCFA6F6F40DEF4F92B9EC7893EC28"
                    "FCD412B1F1B32E27"
                ),
                a=_hex(
                    "3EE30B568FBAB0F883CCEBD46D3F3BB8A2A73513F5EB79DA66190EB085FFA9F4"
                    "92F375A97D860EB4"
                ),
                b=_hex(
                    "520883949DFDBC42D3AD198640688A6FE13F41349554B49ACC31DCCD88453981"
                    "6F5EB4AC8FB1F1A6"
                ),
                g=Point(
                    _hex(
                        "43BD7E9AFB53D8B85289BCC48EE5BFE6F20137D10A087EB6E7871E2A10A599C7"
                        "10AF8D0D39E20611"
                    ),
                    _hex(
                        "14FDD05545EC1CC8AB4093247F77275E0743FFED117182EAA9C77877AAAC6AC7"
                        "D35245D1692E8EE1"
                    ),
                ),
                n=_hex(
                    "D35E472036BC4FB7E13C785ED201E065F98FCFA5B68F12A32D482EC7EE8658E9"
                    "8691555B44C59311"
                ),
            ),
            StandardizedDomainParameter.SECP384R1: Curve(
                name="secp384r1",
                native=True,
                p=_hex(
                    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFE"
                    "FFFFFFFF0000000000000000FFFFFFFF"
                ),
                a=_hex(
                    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFE"
                    "FFFFFFFF0000000000000000FFFFFFFC"
                ),
                b=_hex(
                    "B3312FA7E23EE7E4988E056BE3F82D19181D9C6EFE8141120314088F5013875A"
                    "C656398D8A2ED19D2A85C8EDD3EC2AEF"
                ),
                g=Point(
                    _hex(
                        "AA87CA22BE8B05378EB1C71EF320AD746E1D3B628BA79B9859F741E082542A38"
                        "5502F25DBF55296C3A545E3872760AB7"
                    ),
                    _hex(
                        "3617DE4A96262C6F5D9E98BF9292DC29F8F41DBD289A147CE9DA3113B5F0B8C0"
                        "0A60B1CE1D7E819D7A431D7C90EA0E5F"
                    ),
                ),
                n=_hex(
                    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF"
                    "581A0DB248B0A77AECEC196ACCC52973"
                ),
            ),
            StandardizedDomainParameter.BRAINPOOL_P384R1: Curve(
                name="brainpoolP384r1",
                native=True,
                p=_hex(
                    "8CB91E82A3386D280F5D6F7E50E641DF152F7109ED5456B412B1DA197FB71123"
                    "ACD3A729901D1A71874700133107EC53"
                ),
                a=_hex(
                    "7BC382C63D8C150C3C72080ACE05AFA0C2BEA28E4FB22787139165EFBA91F90F"
                    "8AA5814A503AD4EB04A8C7DD22CE2826"
                ),
                b=_hex(
                    "04A8C7DD22CE28268B39B55416F0447C2FB77DE107DCD2A62E880EA53EEB62D5"
                    "7CB4390295DBC9943AB78696FA504C11"
                ),
                g=Point(
                    _hex(
                        "1D1C64F068CF45FFA2A63A81B7C13F6B8847A3E77EF14FE3DB7FCAFE0CBD10E8"
                        "E826E03436D646AAEF87B2E247D4AF1E"
                    ),
                    _hex(
                        "8ABE1D7520F9C2A45CB1EB8E95CFD55262B70B29FEEC5864E19C054FF9912928"
                        "0E4646217791811142820341263C5315"
                    ),
                ),
                n=_hex(
                    "8CB91E82A3386D280F5D6F7E50E641DF152F7109ED5456B31F166E6CAC0425A7"
                    "CF3AB6AF6B7FC3103B883202E9046565"
                ),
            ),
            StandardizedDomainParameter.BRAINPOOL_P512R1: Curve(
                name="brainpoolP512r1",
                native=True,
                p=_hex(
                    "AADD9DB8DBE9C48B3FD4E6AE33C9FC07CB308DB3B3C9D20ED6639CCA70330871"
                    "7D4D9B009BC66842AECDA12AE6A380E62881FF2F2D82C68528AA6056583A48F3"
                ),
                a=_hex(
                    "7830A3318B603B89E2327145AC234CC594CBDD8D3DF91610A83441CAEA9863BC"
                    "2DED5D5AA8253AA10A2EF1C98B9AC8B57F1117A72BF2C7B9E7C1AC4D77FC94CA"
                ),
                b=_hex(
                    "3DF91610A83441CAEA9863BC2DED5D5AA8253AA10A2EF1C98B9AC8B57F1117A7"
                    "2BF2C7B9E7C1AC4D77FC94CADC083E67984050B75EBAE5DD2809BD638016F723"
                ),
                g=Point(
                    _hex(
                        "81AEE4BDD82ED9645A21322E9C4C6A9385ED9F70B5D916C1B43B62EEF4D0098E"
                        "FF3B1F78E2D0D48D50D1687B93B97D5F7C6D5047406A5E688B352209BCB9F822"
                    ),
                    _hex(
                        "7DDE385D566332ECC0EABFA9CF7822FDF209F70024A57B1AA000C55B881F8111"
                        "B2DCDE494A5F485E5BCA4BD88A2763AED1CA2B2FA8F0540678CD1E0F3AD80892"
                    ),
                ),
                n=_hex(
                    "AADD9DB8DBE9C48B3FD4E6AE33C9FC07CB308DB3B3C9D20ED6639CCA70330870"
                    "553E5C414CA92619418661197FAC10471DB1D381085DDADDB58796829CA90069"
                ),
            ),
            StandardizedDomainParameter.SECP521R1: Curve(
                name="secp521r1",
                native=True,
                p=_hex(
                    "01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"
                    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"
                    "FFFF"
                ),
                a=_hex(
                    "01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"
                    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"
                    "FFFC"
                ),
                b=_hex(
                    "0051953EB9618E1C9A1F929A21A0B68540EEA2DA725B99B315F3B8B489918EF1"
                    "09E156193951EC7E937B1652C0BD3BB1BF073573DF883D2C34F1EF451FD46B50"
                    "3F00"
                ),
                g=Point(
                    _hex(
                        "00C6858E06B70404E9CD9E3ECB662395B4429C648139053FB521F828AF606B4D"
                        "3DBAA14B5E77EFE75928FE1DC127A2FFA8DE3348B3C1856A429BF97E7E31C2E5"
                        "BD66"
                    ),
                    _hex(
                        "011839296A789A3BC0045C8A5FB42C7D1BD998F54449579B446817AFBD17273E"
                        "662C97EE72995EF42640C550B9013FAD0761353C7086A272C24088BE94769FD1"
                        "6650"
                    ),
                ),
                n=_hex(
                    "01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"
                    "FFFA51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E9138"
                    "6409"
                ),
            ),
        }
    )
)


def standardized_domain_parameters(parameter_id: int) -> DomainParameters:
    """The domain parameters with ``parameter_id``; reserved or unknown IDs are unsupported."""
    try:
        return STANDARDIZED_DOMAIN_PARAMETERS[StandardizedDomainParameter(parameter_id)]
    except ValueError:
        raise UnsupportedProtocolError(
            f"domain parameter ID {parameter_id} is reserved or not standardized"
        ) from None


@dataclass(frozen=True, slots=True)
class NamedCurve:
    """A standardized curve as a SubjectPublicKeyInfo names it."""

    parameter: StandardizedDomainParameter
    oid: str
    """The named-curve OID (SEC 2 §A.2, RFC 5480 §2.1.1.1, RFC 5639 §4.1)."""
    backend: type[crypto_ec.EllipticCurve] | None
    """``cryptography``'s class for the curve; None where it has none (the library's own
    arithmetic verifies there)."""

    @property
    def curve(self) -> Curve:
        params = STANDARDIZED_DOMAIN_PARAMETERS[self.parameter]
        assert isinstance(params, Curve)
        return params


_P = StandardizedDomainParameter
NAMED_CURVES: Mapping[str, NamedCurve] = MappingProxyType(
    {
        curve.oid: curve
        for curve in (
            NamedCurve(_P.SECP192R1, "1.2.840.10045.3.1.1", crypto_ec.SECP192R1),
            NamedCurve(_P.SECP224R1, "1.3.132.0.33", crypto_ec.SECP224R1),
            NamedCurve(_P.SECP256R1, "1.2.840.10045.3.1.7", crypto_ec.SECP256R1),
            NamedCurve(_P.SECP384R1, "1.3.132.0.34", crypto_ec.SECP384R1),
            NamedCurve(_P.SECP521R1, "1.3.132.0.35", crypto_ec.SECP521R1),
            NamedCurve(_P.BRAINPOOL_P192R1, "1.3.36.3.3.2.8.1.1.3", None),
            NamedCurve(_P.BRAINPOOL_P224R1, "1.3.36.3.3.2.8.1.1.5", None),
            NamedCurve(_P.BRAINPOOL_P256R1, "1.3.36.3.3.2.8.1.1.7", crypto_ec.BrainpoolP256R1),
            NamedCurve(_P.BRAINPOOL_P320R1, "1.3.36.3.3.2.8.1.1.9", None),
            NamedCurve(_P.BRAINPOOL_P384R1, "1.3.36.3.3.2.8.1.1.11", crypto_ec.BrainpoolP384R1),
            NamedCurve(_P.BRAINPOOL_P512R1, "1.3.36.3.3.2.8.1.1.13", crypto_ec.BrainpoolP512R1),
        )
    }
)
"""Every standardized curve by its named-curve OID."""

CURVE_NAMES: Mapping[StandardizedDomainParameter, NamedCurve] = MappingProxyType(
    {curve.parameter: curve for curve in NAMED_CURVES.values()}
)
"""The same table by standardized domain parameter ID."""
