"""The domain layer: the vocabulary, one declaration per signal, the snapshot and the verdict.

It imports nothing of this package but :mod:`csm_rules.errors`; everything else builds on it.
"""
