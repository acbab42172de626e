"""Turn a verified identity into a hospital visit: BHYT lookup, HIS registration, store."""
