"""The jobs layer: the main scan and the scheduler that runs it."""
