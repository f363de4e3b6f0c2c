"""Near-duplicate removal: shingles, MinHash signatures, LSH buckets, clusters and the keep rule."""
