"""Read and verify Vietnam's chip citizen ID card (CCCD) over PC/SC."""
