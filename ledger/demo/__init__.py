"""The demo fund (`fundledger demo`): believable history built only through the services.

fund.py builds it (chart, users, six months of postings, closed months), loans.py its loans in
every state, statements.py the bank's statements of those months, documents.py the demo
signing key and drawn signatures. Only the `demo` command imports this package; production code
never does (tests/integration/test_cli_startup.py).
"""

from __future__ import annotations

from ledger.demo.fund import DEMO_USERS, DemoSummary, build_demo, demo_password

__all__ = ["DEMO_USERS", "DemoSummary", "build_demo", "demo_password"]
