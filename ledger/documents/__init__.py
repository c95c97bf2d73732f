"""Documents: loan contracts and repayment schedules (rendering) and their signing and storage.

This is an adapter layer: Jinja2, Babel and WeasyPrint stay here, out of the domain.
"""
