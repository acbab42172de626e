"""Proving what the chip says: passive, chip and active authentication, and the report."""
