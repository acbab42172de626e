"""Turn a verified identity into a hospital visit: BHYT lookup, HIS registration, store.

The kiosk's entry point is :class:`CheckInService`; see docs/hospital_adapter.md.
"""

import lazy_loader

# The public names are listed once, in __init__.pyi, which type checkers read; each is imported
# from its module on first use, so a program pays only for the parts it uses (the kiosk's
# first screen does not wait for the HTTP, XML and database libraries: issue #16).
__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
