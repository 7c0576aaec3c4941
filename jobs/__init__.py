"""jobs layer: what runs — the scheduled jobs, their durable state, the leader lock, the CLI.

    loaded = jobs.config.load("leadrouter.toml")          # strict TOML + LEADROUTER_* env overrides
    cx = jobs.app.LeadRouter.from_config(loaded)          # client + mappings + rule book + state
    cx.run_cycle()                                        # every job once (what `leadrouter once` does)
    cx.run_job("leads")                                   # one job, with its job_runs row and summary log

Jobs (each `run(cx, now) -> counts`): sync_partners, leads (new leads AND partner
responses, one incremental read), deleted, expire, remind, followup, outbox (write-back
with a staleness guard; reconciles writes a crash left unconfirmed).

State (`jobs.state`): SQLAlchemy Core tables on SQLite or PostgreSQL, versioned
migrations; at most one live offer per lead is a unique index. See docs/CONTRACTS.md.
"""
