"""Text cleaning: encoding repair, citation remnants, normalisation (cleaner.py) and boilerplate lines."""
