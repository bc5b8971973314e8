"""Question answering over a folder of news articles.

The package reads in the order the data flows, each subpackage importing only those before it:

    settings, errors            one Settings class (the only reader of the environment) and
                                one error tree
    corpus                      articles on disk: read, check, split into passages
    encoders                    text -> unit vectors, behind the `Encoder` protocol
    store                       passages, vectors and BM25 behind the `Store` protocol, versioned
    indexing                    corpus -> encoder -> store: build, update and publish an index
    retrieval                   question -> passages: dense, lexical and fused search
    serve | evaluation          the HTTP service and widget | retrieval measured on question sets
    model_setup                 set-up only: make the default model's files
    cli                         the `qa` command, on top of everything

`tests/unit/test_architecture.py` enforces the order (import-linter contracts in
`pyproject.toml`); docs/architecture.md draws it.
"""

__version__ = "0.1.0"
