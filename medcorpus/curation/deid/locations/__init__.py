"""The location detector: facilities, wards, towns and addresses (rules.py), with its place lists (places.py)."""
