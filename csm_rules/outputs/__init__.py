"""The outputs layer: what a verdict becomes and the protocols of where it goes.

Payloads (health updates, events, drafts, chat messages, expansion tasks, QBR documents), the
decisions about them (the alert gate) and the one-method protocols a host implements. Nothing here
writes a file or opens a socket: the adapters in ``local``, ``notion`` and ``sinks`` do.
"""
