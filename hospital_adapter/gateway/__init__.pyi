"""The package's public names, for type checkers and for the lazy loading of ``__init__.py``."""

from .client import GatewayClient as GatewayClient
from .codes import Decision as Decision
from .codes import ResultCode as ResultCode
from .codes import decide as decide
from .history import PastVisit as PastVisit
from .history import VisitHistory as VisitHistory
from .submission import Xml0Receipt as Xml0Receipt
from .wire import CoverageCard as CoverageCard
from .wire import InsuranceHolder as InsuranceHolder
from .wire import InsuranceLookup as InsuranceLookup
from .wire import LookupQuery as LookupQuery
