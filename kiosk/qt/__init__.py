"""The PySide6 user interface of the kiosk (the only kiosk package that imports Qt)."""
