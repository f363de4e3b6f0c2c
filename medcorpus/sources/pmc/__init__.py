"""PubMed Central: the JATS full-text reader, citation and formula handling, and licence rules."""
