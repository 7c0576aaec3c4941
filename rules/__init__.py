"""rules layer — see docs/CONTRACTS.md."""
