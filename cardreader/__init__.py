"""Read and verify Vietnam's chip citizen ID card (CCCD) over PC/SC.

The supported API is what ``__all__`` lists (docs/verification.md §6): the read facades, the
credentials that open the chip, the trust store, the report and identity types, the PC/SC
transport and the errors. Everything else is internal and may change; applications such as
the kiosk import from here only (an import-linter contract in pyproject.toml checks it).
"""

import lazy_loader

# The public names are listed once, in __init__.pyi, which type checkers read; each is imported
# from its module on first use, so a program pays only for the parts it uses (the kiosk's
# first screen does not wait for the HTTP, XML and database libraries: issue #16).
__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
