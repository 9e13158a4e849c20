"""The shared kernel: projects (tenants), their API tokens, operator accounts and their sessions.

Every other package may import from here; this package imports only :mod:`dialer.storage` and
:mod:`dialer.errors`. Modules: ``projects`` (:class:`~dialer.accounts.projects.ProjectRef`, finding and
creating a project), ``tokens`` (project API tokens), ``operators`` (operator accounts, passwords and
the softphone's SIP digest), ``sessions`` (operators' workplace sessions).
"""
