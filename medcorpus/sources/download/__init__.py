"""Download clients: resumable, checksummed mirrors of NLM's bulk folders."""
