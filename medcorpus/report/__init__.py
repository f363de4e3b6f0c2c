"""The run report: a self-contained HTML page (html.py) drawn with inline SVG charts (plots.py)."""
