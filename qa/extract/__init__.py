"""Article text and metadata out of what newsrooms publish: web pages, PDF, Markdown, plain
text. May import `qa.settings` and `qa.errors` only."""
