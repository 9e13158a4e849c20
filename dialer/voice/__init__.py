"""The dialer's SIP side: everything that turns the engine's requests into SIP and RTP.

``trunks`` opens the configured trunks (one opener for the engine, the CLI and the benches),
``telephony`` places and bridges client calls over them (the engine's :class:`~dialer.engine.telephony.
Telephony` seam) with the answering-machine tap, ``phones`` calls and holds the operators' softphones,
``bindings`` remembers where those phones registered, ``side`` opens and closes all of it for the
runtime, and ``manual_call`` is ``dialer call`` (one call from the command line). Only this package
and the composition root (:mod:`dialer.runtime`) import :mod:`sip`.
"""
