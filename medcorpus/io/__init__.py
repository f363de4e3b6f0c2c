"""File handling: crash-safe writes (atomic.py), atomic datatrove writers and the intermediate formats."""
