"""Safe XML for every reader: no external entities or network, bounded records (safe.py, records.py)."""
