"""Serial devices of the kiosk: the 2D QR scanner and the ESC/POS ticket printer."""
