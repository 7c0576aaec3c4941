"""mappings layer — see docs/CONTRACTS.md."""
