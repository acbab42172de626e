"""Registering visits with the hospital information system (docs/domain.md §4.4), and
finding the patients it already knows (IHE PDQ ITI-21, FHIR R4 Patient search)."""

import lazy_loader

# Public names listed once in __init__.pyi; each module imported on first use (issue #16).
__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
