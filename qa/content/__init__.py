"""What comes in: articles as newsrooms publish them, read into documents and passages.

    extract     bytes -> text and metadata, one `Extractor` per kind (web page, PDF, Markdown,
                plain text), and a text's language
    corpus      articles as files on disk: read, checked, added and removed, split into passages
    web         pages, feeds and sitemaps fetched politely and discovered (not extracted, not
    stored)

`corpus` and `web` build on `extract`, never on each other. The group may import `qa.settings`
and `qa.errors` only: nothing here knows vectors, stores or the service.
"""
