"""Download clients: resumable, checksummed mirrors of NLM's bulk folders and of Hugging Face Hub datasets."""
