"""The package's public names, for type checkers and for the lazy loading of ``__init__.py``."""

from .base import HisRegistrar as HisRegistrar
from .base import InMemoryHis as InMemoryHis
from .base import KnownPatient as KnownPatient
from .base import PatientFinder as PatientFinder
from .base import PatientKey as PatientKey
from .configured import configured_registrar as configured_registrar
from .fhir_client import FhirRegistrar as FhirRegistrar
from .hl7v2 import AckCode as AckCode
from .hl7v2 import MessageHeader as MessageHeader
from .mllp import MllpRegistrar as MllpRegistrar
