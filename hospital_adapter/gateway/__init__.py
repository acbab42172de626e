"""The BHXH gateway: typed lookups of BHYT coverage (docs/domain.md §3)."""

import lazy_loader

# Public names listed once in __init__.pyi; each module imported on first use (issue #16).
__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
