"""The `medcorpus` command line: one module per command group, attached to the root group in main.py."""
