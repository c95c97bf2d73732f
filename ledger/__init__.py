"""fundledger: a double-entry ledger for interest-free rental guarantee loan funds."""

__version__ = "0.1.0"
