"""Media, sans-IO: RTP packets (``rtp``), G.711 in numpy (``g711``), RFC 4733 telephone events
(``dtmf``), a bounded jitter buffer (``jitter``). Bytes and arrays in and out, no sockets and no clock
reads; what moves them on sockets in time is :mod:`sip.streams`.
"""
