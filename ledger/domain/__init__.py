"""Pure domain: money, accounts, journal entries. Imports only the standard library and moneyed."""
