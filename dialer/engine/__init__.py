"""The dialer engine: campaigns that dial, operators who take the answered calls, callbacks.

Pure parts first: ``operators`` (sessions, states, who gets the next call) and ``callbacks`` (sticky
routing with a grace period). The asyncio campaign loop builds on them.
"""
