"""SIP signalling and media for the company's trunks and the operators' phones.

A sans-IO core (messages, transactions, dialogs, digest auth, SDP) and an asyncio shell (transports,
user agent, trunk routing). See ../shared/STYLE.md, "SIP signalling".
"""
