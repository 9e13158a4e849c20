"""The dialer's SIP side: everything that turns the engine's requests into SIP and RTP.

``trunks`` opens the configured trunks (one opener for the engine, the CLI and the benches),
``telephony`` places and bridges client calls over them (the engine's :class:`~dialer.engine.telephony.
Telephony` seam) with the answering-machine tap, ``phones`` calls and holds the operators' softphones,
``bindings`` remembers where those phones registered, ``carrier`` is the built-in simulated carrier,
``side`` opens and closes all of it for the runtime, and ``manual_call`` is ``dialer call`` (one call
from the command line). Outside this package only the CLI and the demo (whose virtual operators are
softphones) import :mod:`sip`; the composition root (:mod:`dialer.runtime`) reaches it through here.
"""
