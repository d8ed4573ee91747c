"""Files on disk: atomic writes, checksums, the cache home and the run-folder layout."""
