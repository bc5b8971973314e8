"""Web pages as newsrooms publish them: fetched politely (robots.txt, a rate per host, size and
time limits), told apart (page, feed, sitemap), and re-synced cheaply. May import `qa.corpus`,
`qa.extract`, `qa.settings` and `qa.errors`."""
