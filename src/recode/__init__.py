"""recode: teach code LLMs to use the API-update documentation they are given, and measure whether they do."""

__version__ = "0.1.0"
