"""The sources layer: the protocol a portfolio source follows, and portfolio files."""

from csm_rules.sources.protocol import PortfolioSource, SourceProblem, SourceResult

__all__ = ["PortfolioSource", "SourceProblem", "SourceResult"]
