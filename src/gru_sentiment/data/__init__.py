"""Reviews in: IMDB (folder, archive, download), tables (CSV / JSONL), splits, text -> ids."""
