"""The corpus: articles as files on disk, read and checked (`ingest`), added, replaced and
removed one by one (`documents`), and split into passages (`chunk`). The bottom of the product
pipeline: may import `qa.settings` and `qa.errors` only."""
