"""Predictive pacing: how many calls to launch per free operator, under the abandon limit.

Pure functions and small classes over numpy arrays: no asyncio, no database, no clock reads.
"""
