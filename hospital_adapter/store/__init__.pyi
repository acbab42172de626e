"""The package's public names, for type checkers and for the lazy loading of ``__init__.py``."""

from .audit import AuditEntry as AuditEntry
from .db import CheckInSummary as CheckInSummary
from .db import JournalRecord as JournalRecord
from .db import Numbering as Numbering
from .db import OutboxMessage as OutboxMessage
from .db import OutboxStatus as OutboxStatus
from .db import Queue as Queue
from .db import Store as Store
from .db import StoredCheckIn as StoredCheckIn
from .db import XmlReport as XmlReport
from .fleet import FleetSettings as FleetSettings
from .fleet import FleetStore as FleetStore
from .port import CheckInStore as CheckInStore
from .queue import QueueEntry as QueueEntry
from .queue import QueueStatus as QueueStatus
