"""``python -m hospital_adapter``."""

from __future__ import annotations

from hospital_adapter.cli import main

if __name__ == "__main__":
    main()
