"""Operator scripts (branching call scripts) and the CRM fields filled during a call."""
