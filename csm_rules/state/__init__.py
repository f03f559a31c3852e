"""The state store: what the scan remembers between runs (verdict history, action claims, cooldowns)."""
