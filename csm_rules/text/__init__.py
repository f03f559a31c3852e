"""The text layer: how values become words — escaping per destination, number formats, plain-language labels.

It sits just above ``domain/`` so every layer that writes text (narration, outputs, adapters, the CLI, the
report) uses the same functions.
"""
