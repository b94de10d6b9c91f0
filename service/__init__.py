"""policybot: cited answers about Jinan High-tech Zone policies."""

__version__ = "0.1.0"
