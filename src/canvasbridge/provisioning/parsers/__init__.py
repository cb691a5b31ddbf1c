"""Parsers: one source message → the provisioning task calls it asks for.

Messages are thin notifications (the IntArk rule: never trust the body, fetch fresh data),
so a parser only extracts a *natural key* and names the task that will read the source
and Canvas and fix the difference. Each module handles one source's format:

* :mod:`.cerebrum` - SCIM-style, routing key ``no.uio.cerebrum.scim.<type>.<event>``
* :mod:`.fs` - claims-style, routing key ``no.uio.fs.<iss>.<resource>.<operation>``
* :mod:`.sap` - SCIM-like with ``employees(<id>)`` / ``locations(<id>)`` in ``sub``

A bad body raises :class:`canvasbridge.errors.MessageError` naming what is wrong; the
engine parks the message with that reason.
"""
