"""De-identification of clinical notes: PHI detectors, surrogates and the gold-standard evaluation."""
