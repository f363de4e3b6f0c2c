"""MIMIC-III/IV/CXR notes: the reader and the splitting pass for large CSVs."""
