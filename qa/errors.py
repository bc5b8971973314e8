"""Domain errors. They know nothing of HTTP or of the CLI; `qa.serve.http_errors` and
`qa.cli` map them once.

QAError
├── InvalidQueryError       a question or parameter the service cannot accept
├── SourceNotFoundError     a source file name that is not in the index
├── CorpusError             the corpus folder is missing or holds no readable article
├── ModelError              the embedding model cannot be built or loaded
├── ExtraMissingError       a command needs an optional extra that is not installed
├── QuestionSetError        a question-set file that cannot be read
├── DocumentError           an article sent to the corpus that cannot be accepted
│   ├── LastDocumentError   a change that would leave the corpus with no readable article
│   └── ExtractionError     a page, PDF or Markdown file with no article text in it
├── DocumentNotFoundError   an article name that is not in the corpus folder
├── AccessDeniedError       a missing or wrong API key
├── UnknownSearchError      feedback on a search id that was never recorded
├── InvalidFeedbackError    feedback naming a result its search did not show
├── AnalyticsError          the analytics database cannot be used (unreachable, newer schema)
├── IndexLockedError        another writer holds the index
├── IndexWriteError         a new index version cannot be written (disk full...)
├── ClientGoneError         the client left before its queued search started
├── RetryLaterError         refused for now (carries `retry_after` seconds)
│   ├── OverloadedError     too many searches in progress or waiting, or one waited too long
│   └── RateLimitedError    a client over its rate limit
└── IndexUnavailableError   no usable index
    ├── IndexMissingError   no index has been built in the index folder
    ├── IndexMismatchError  the index was built with another model or format
    └── IndexCorruptError   the index files cannot be read
"""

from __future__ import annotations

from importlib.util import find_spec


class QAError(Exception):
    """Base of every error this package raises on purpose."""


class InvalidQueryError(QAError):
    """A question or a search parameter is not acceptable."""


class SourceNotFoundError(QAError):
    """A source file name that the index does not hold."""

    def __init__(self, name: str) -> None:
        super().__init__(f"unknown source {name!r}; GET /sources lists the indexed files")
        self.name = name


class CorpusError(QAError):
    """The corpus folder is missing or holds no readable article."""


class ModelError(QAError):
    """The embedding model cannot be built or loaded."""


class RankerError(QAError):
    """The learned ranker's model file is missing, altered or unreadable."""


class AnswerabilityModelError(QAError):
    """The learned answerability flag's model file is unreadable, altered or out of date."""


class ExtraMissingError(QAError):
    """A command needs an optional dependency (an extra of the package) that is not installed."""


def require_extra(extra: str, what: str, *modules: str) -> None:
    """ExtraMissingError, one line naming the extra to install, unless every module can be
    imported (found, not imported: some take seconds to import)."""
    if missing := [module for module in modules if not _installed(module)]:
        raise ExtraMissingError(
            f"{what} needs the {extra} extra: pip install 'qa[{extra}]' "
            f"({', '.join(missing)} not installed)"
        )


def _installed(module: str) -> bool:
    try:
        return find_spec(module) is not None
    except ModuleNotFoundError:  # its parent package is missing
        return False


class IndexUnavailableError(QAError):
    """Base of the problems with a built index."""


class IndexMissingError(IndexUnavailableError):
    """No index has been built in the index folder."""


class IndexMismatchError(IndexUnavailableError):
    """The index was built with settings (model, chunking) other than the current ones."""


class IndexCorruptError(IndexUnavailableError):
    """The index files exist but cannot be read."""


class WritesUnavailableError(QAError):
    """The store takes no writes now (its primary database cannot be reached); searches may
    still be answered, from a standby."""


class QuestionSetError(QAError):
    """A question-set file that cannot be read."""


class DocumentError(QAError):
    """An article sent to the corpus that cannot be accepted (name, encoding, size, empty)."""


class LastDocumentError(DocumentError):
    """A change refused because the corpus would have no readable article left; nothing was
    changed."""


class ExtractionError(DocumentError):
    """A published file (web page, PDF, Markdown) with no article text to take from it: empty
    once its navigation is removed, a PDF with no text layer, a type the service cannot read."""


class DocumentNotFoundError(QAError):
    """An article name that is not in the corpus folder."""

    def __init__(self, name: str) -> None:
        super().__init__(f"no article {name!r} in the corpus; GET /documents lists them")
        self.name = name


class AccessDeniedError(QAError):
    """A request without the API key its route needs, or with a wrong one."""


class UnknownSearchError(QAError):
    """Feedback names a search the analytics never recorded (or purged)."""

    def __init__(self, search_id: str) -> None:
        super().__init__(f"unknown search {search_id!r}: send the search_id a search answered")
        self.search_id = search_id


class InvalidFeedbackError(QAError):
    """Feedback on a result (`rank`) past the results its search showed."""


class AnalyticsError(QAError):
    """The analytics database cannot be used: unreachable, or its schema is newer than this
    version of the service knows."""


class IndexWriteError(QAError):
    """A new index version could not be written; the published one is untouched."""


class IndexLockedError(QAError):
    """Another process is writing the index; only one writer at a time."""

    def __init__(self, index_dir: object, holder: str) -> None:
        super().__init__(
            f"the index in {index_dir} is being written by another process ({holder}); "
            "try again when it is done"
        )


class RetryLaterError(QAError):
    """The request was refused for now; it may succeed after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class OverloadedError(RetryLaterError):
    """Too many searches are in progress or waiting, or this one waited past its deadline."""


class RateLimitedError(RetryLaterError):
    """A client (API key or address) sent more requests than its rate limit allows."""


class ClientGoneError(QAError):
    """The client went away before its queued search started: nobody to answer."""
