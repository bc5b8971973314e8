"""The HTTP service and its widget.

`app` assembles the application: the routers of `routes/` (one per resource: search, sources,
documents, feedback, analytics, probes, and the widget's page and script), the middlewares, the
exception handlers and the lifespan that loads the model once. The routes get what the lifespan
loaded through the dependencies of `deps`. Around the search sit the serving layers, each a
module: access keys (`access`), request logs (`access_log`), admission and load shedding
(`admission`, `shedding`), rate limits (`rate_limit`), micro-batching of question embeddings
(`batching`), Prometheus metrics (`metrics`), index reloads, polled or on the store's
announcement (`reload`), search events written off the request path (`analytics_writer`),
memory hygiene (`heap`), security headers and static files (`http_hygiene`), the body's size and
time limits (`request_body`), and domain errors mapped to HTTP once, unexpected ones caught
inside every header-adding layer (`http_errors`). `static/` holds the widget. May import the
pipeline (`qa.content`, `qa.search`, `qa.indexing`) and `qa.analytics`; never `qa.evaluation`,
`qa.model_setup` or `qa.cli`.
"""
