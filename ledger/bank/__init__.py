"""Adapters for the bank's files: statement parsers (camt.053, CODA, CSV) that return the
domain's ``Statement`` values, and (later) payment files. No database, no booking here."""
