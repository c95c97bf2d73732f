"""The fund's own files: its lending rules and chart of accounts (TOML), and the key of the
payers' IBAN hashes. Read by the CLI and the API at start; nothing here imports either."""
