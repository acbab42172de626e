"""The code lists of :mod:`hospital_adapter.codelists`, one CSV file each."""
