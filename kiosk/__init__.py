"""The hospital check-in kiosk."""
