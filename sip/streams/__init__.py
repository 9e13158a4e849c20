"""Media on the wire, in time: the process's 20 ms clock (``clock``), RTP legs on UDP sockets
(``leg``), what joins or feeds them (``bridge``, ``player``, ``recorder``, ``tap``) and a call's
offer/answer with its leg (``session``). Built on the sans-IO core of :mod:`sip.media`.
"""
