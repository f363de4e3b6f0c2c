"""Guideline PDFs: text extraction (extract.py), layout and tables, in a bounded worker process."""
