"""The local folder: every file a local scan writes, and their names in one place."""
