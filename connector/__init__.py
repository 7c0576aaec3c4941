"""connector layer — see docs/CONTRACTS.md."""
