"""PubMed abstracts: the XML reader, update and deletion semantics across files, and PMC links."""
