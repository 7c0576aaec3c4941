"""sandbox layer — see docs/CONTRACTS.md."""
