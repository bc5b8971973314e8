"""What answers: passages embedded, stored and searched.

    encoders    text -> unit vectors, behind the `Encoder` protocol
    store       passages, vectors and BM25 behind the `Store` protocol, one module per engine
    retrieval   a question -> ranked passages: dense, lexical, fused, re-ranked

Each imports only those above it in this list's reverse order (retrieval -> store -> encoders);
the store and retrieval know an encoder by its protocol only. The group may import `qa.content`,
`qa.settings` and `qa.errors`; building an index from a corpus is `qa.indexing`'s job.
"""
