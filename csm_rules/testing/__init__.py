"""Test support shipped with the library: strategies, fakes and doubles."""
