"""Question answering over a folder of news articles.

The package reads in the order the data flows, each subpackage importing only those before it:

    settings, errors            one Settings class (the only reader of the environment) and
                                one error tree
    content                     what comes in: web pages, PDF, Markdown and text extracted
                                (`extract`), articles on disk read, checked and split into
                                passages (`corpus`), pages, feeds and sitemaps fetched (`web`)
    search                      what answers: text -> unit vectors (`encoders`), passages,
                                vectors and BM25 behind the `Store` protocol (`store`), a
                                question -> ranked passages (`retrieval`)
    indexing | analytics        corpus -> encoder -> store: build, update and publish an index |
                                what readers asked and said
    serve | evaluation          the HTTP service and widget | retrieval measured on question sets
    model_setup                 set-up only: make the default model's files
    cli                         the `qa` command, on top of everything

`tests/unit/test_architecture.py` enforces the order (import-linter contracts in
`pyproject.toml`); docs/architecture.md draws it.
"""

__version__ = "0.1.0"
