"""Media: RTP packets (``rtp``), G.711 in numpy (``g711``), RFC 4733 telephone events (``dtmf``),
a bounded jitter buffer (``jitter``). Sans-IO, like the signalling core: bytes and arrays in and out,
no sockets and no clock reads.
"""
