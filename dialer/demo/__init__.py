"""The demo call centre ``make run`` shows: seeded data (``seed``), virtual operators (``operators``)
and the server that runs them together (``run``). Demo rows are flagged; ``dialer demo reset``
removes them."""
