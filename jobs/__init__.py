"""jobs layer — see docs/CONTRACTS.md."""
