"""Leads: what enters the dialer (loan applications), the rules for calling them, and the hopper.

Modules: ``phones`` (E.164 normalisation), ``schema`` (API payloads and their validation),
``store`` (create, upsert, change and cancel leads with their history), ``rules`` (pure calling
rules: window, caps, DNC, expiry, retries, order), ``hopper`` (leasing leads to dial),
``importer`` (CSV files).
"""
