"""What the PostgreSQL store's one writer does: articles written and deleted, versions published
in one transaction and announced, and the advisory lock that keeps writers to one.

A publication is a single transaction: the changed articles written, the removed ones deleted,
the others' metadata updated, the manifest stamped with a new version, and `NOTIFY qa_published`
sent (PostgreSQL delivers it at commit). A reader sees the version before or the one after,
never part of one; a writer killed midway leaves nothing, since its transaction never commits.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from types import TracebackType

import psycopg
from psycopg.types.json import Jsonb

from qa.errors import IndexLockedError
from qa.search.store.lexical import analyze
from qa.search.store.postgres_schema import Connection, connect, redacted
from qa.search.store.protocol import INDEX_FORMAT, DocumentRecord, Manifest, Source

# The channel a publication is announced on; the payload is the new version's name.
CHANNEL = "qa_published"
# The advisory lock of the one writer: a fixed 64-bit key, derived from a name for the record.
WRITER_LOCK_KEY = int.from_bytes(hashlib.blake2b(b"qa writer", digest_size=8).digest()) >> 1


def write_document(connection: Connection, record: DocumentRecord) -> None:
    """Add an article, or replace all of its passages (in the caller's transaction).

    Four statements an article whatever its size: its source row, then its passages, their
    sentences and their terms each in one COPY (a row-by-row INSERT made a million-passage load
    take 26 minutes). The passages' ids, which the sentences and terms point to, are read back
    in the passages' order."""
    delete_document(connection, record.source.name)
    source = record.source
    connection.execute(
        """
        INSERT INTO qa_sources (name, sha256, source, published, language, site)
        VALUES (%s, %s, %s, %s, %s, %s)""",
        _source_row(source),
    )
    terms = [Counter(analyze(chunk.match_text)) for chunk in record.chunks]
    lengths = [sum(counts.values()) for counts in terms]
    with connection.cursor() as cursor:
        with cursor.copy(
            "COPY qa_passages (source, ord, chunk, embedding, length, sentences, match_text) "
            "FROM STDIN"
        ) as copy:
            for order, (chunk, vector, length) in enumerate(
                zip(record.chunks, record.vectors, lengths, strict=True)
            ):
                copy.write_row(
                    (
                        source.name,
                        order,
                        Jsonb(chunk.model_dump(mode="json")),
                        vector,
                        length,
                        len(chunk.sentences),
                        chunk.match_text,
                    )
                )
        cursor.execute("SELECT id FROM qa_passages WHERE source = %s ORDER BY ord", (source.name,))
        passages = [int(row[0]) for row in cursor.fetchall()]
        sentence_vectors = iter(record.sentence_vectors)
        with cursor.copy("COPY qa_sentences (passage, ord, embedding) FROM STDIN") as copy:
            for passage, chunk in zip(passages, record.chunks, strict=True):
                for number in range(len(chunk.sentences)):
                    copy.write_row((passage, number, next(sentence_vectors)))
        with cursor.copy("COPY qa_terms (term, passage, tf) FROM STDIN") as copy:
            for passage, counts in zip(passages, terms, strict=True):
                for term, tf in counts.items():
                    copy.write_row((term, passage, tf))
    connection.execute(
        "UPDATE qa_meta SET passages = passages + %s, total_length = total_length + %s",
        (len(record.chunks), sum(lengths)),
    )


def delete_document(connection: Connection, name: str) -> None:
    """Delete an article and everything of it (in the caller's transaction)."""
    row = connection.execute(
        """
        WITH gone AS (DELETE FROM qa_passages WHERE source = %s RETURNING length)
        SELECT count(*), coalesce(sum(length), 0) FROM gone""",
        (name,),
    ).fetchone()
    connection.execute("DELETE FROM qa_sources WHERE name = %s", (name,))
    if row is not None and row[0]:
        connection.execute(
            "UPDATE qa_meta SET passages = passages - %s, total_length = total_length - %s",
            (row[0], row[1]),
        )


def update_metadata(connection: Connection, sources: Mapping[str, Source]) -> None:
    """Replace the stored `Source` of articles kept with their vectors whose metadata changed
    (a sidecar edited, a newer extractor); no vector written."""
    with connection.cursor() as cursor:
        cursor.executemany(
            """
            UPDATE qa_sources SET sha256 = %s, source = %s, published = %s, language = %s,
                   site = %s
            WHERE name = %s AND source IS DISTINCT FROM %s""",
            [
                (*_source_row(source)[1:], source.name, _source_row(source)[2])
                for source in sources.values()
            ],
        )


def publish(connection: Connection, manifest: Manifest) -> Manifest:
    """Record `manifest`, with what the tables hold, as a new version; announce it at commit.
    Returns the stamped manifest."""
    row = connection.execute(
        "SELECT version FROM qa_meta WHERE id = 1 FOR UPDATE"  # one publisher at a time
    ).fetchone()
    previous = row[0] if row is not None else None
    number = int(previous.split("-")[0]) if previous else 0
    version = f"{number + 1:06d}-{datetime.now(UTC):%Y%m%dT%H%M%S}"
    corpus = {
        str(name): str(sha)
        for name, sha in connection.execute("SELECT name, sha256 FROM qa_sources ORDER BY name")
    }
    counts = connection.execute(
        "SELECT count(*), coalesce(sum(sentences), 0) FROM qa_passages"
    ).fetchone()
    assert counts is not None  # an aggregate always returns a row
    stamped = manifest.model_copy(
        update={
            "format": INDEX_FORMAT,
            "version": version,
            "corpus": corpus,
            "chunk_count": int(counts[0]),
            "sentence_count": int(counts[1]),
            "files": {},
        }
    )
    connection.execute(
        "UPDATE qa_meta SET version = %s, manifest = %s WHERE id = 1",
        (version, Jsonb(stamped.model_dump(mode="json"))),
    )
    connection.execute("SELECT pg_notify(%s, %s)", (CHANNEL, version))
    return stamped


def listen_for_versions(url: str, timeout: float | None = None) -> Iterator[str]:
    """The name of each version published from now on, as it is committed (`LISTEN
    qa_published`, registered before this returns): what a replica reloads on instead of
    polling. Ends after `timeout` seconds without a publication (None: never); closing the
    iterator closes its connection."""
    connection = connect(url, application_name="qa listener")
    connection.execute(f"LISTEN {CHANNEL}")
    return _announced(connection, timeout)


def _announced(connection: Connection, timeout: float | None) -> Iterator[str]:
    with connection:
        while True:
            received = False
            for notice in connection.notifies(timeout=timeout, stop_after=1):
                received = True
                yield notice.payload
            if not received:
                return


class AdvisoryWriterLock:
    """One writer per database: a session-level advisory lock, held by a connection of its own.

    PostgreSQL drops it when the session ends, even when its holder is killed with `kill -9`
    (the server sees the connection close), so a dead writer never keeps it. The holder names
    itself in its connection's `application_name`, which a refused writer reports.
    """

    def __init__(self, url: str, wait: float = 0.0) -> None:
        self.url = url
        self.wait = wait
        self._connection: Connection | None = None

    def __enter__(self) -> AdvisoryWriterLock:
        me = f"qa writer pid {os.getpid()} since {datetime.now(UTC):%H:%M:%S} UTC"
        connection = connect(self.url, application_name=me)
        try:
            if not self._acquire(connection):
                holder = self._holder(connection)
                raise IndexLockedError(f"the PostgreSQL store {redacted(self.url)}", holder)
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        return self

    def _acquire(self, connection: Connection) -> bool:
        if self.wait <= 0:
            row = connection.execute(
                "SELECT pg_try_advisory_lock(%s)", (WRITER_LOCK_KEY,)
            ).fetchone()
            return bool(row and row[0])
        connection.execute(f"SET lock_timeout = {int(self.wait * 1000)}")
        try:
            connection.execute("SELECT pg_advisory_lock(%s)", (WRITER_LOCK_KEY,))
        except psycopg.errors.LockNotAvailable:
            return False
        return True

    def _holder(self, connection: Connection) -> str:
        row = connection.execute(
            """
            SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid)
            WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
              AND l.classid::bigint = %s AND l.objid::bigint = %s
            LIMIT 1""",
            # pg_locks shows a bigint key as its high and low 32 bits.
            (WRITER_LOCK_KEY >> 32, WRITER_LOCK_KEY & 0xFFFFFFFF),
        ).fetchone()
        return str(row[0]) if row and row[0] else "unknown"

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._connection is not None:
            with contextlib.suppress(psycopg.Error):
                self._connection.execute("SELECT pg_advisory_unlock(%s)", (WRITER_LOCK_KEY,))
            self._connection.close()  # closing alone would release it too
            self._connection = None


def _source_row(source: Source) -> tuple[object, ...]:
    return (
        source.name,
        source.sha256,
        Jsonb(source.model_dump(mode="json")),
        source.published,
        source.language,
        source.site,
    )
