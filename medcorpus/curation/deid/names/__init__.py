"""The name detector: word lists and cue words (lexicon.py) and per-token rules (token_rules.py)."""
