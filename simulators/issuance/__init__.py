"""Card issuance: the data groups of a virtual card, built from a persona (issuer's view)."""
