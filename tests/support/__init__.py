"""Builders and helpers shared by the tests: the only test code a test module may import.

Test modules (``test_*.py``) and conftest files import from here, never from each other; conftest
files hold only fixtures, which pytest injects (tests/unit/test_test_layout.py checks this).
"""
