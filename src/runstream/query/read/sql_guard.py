"""The gate of ``POST /api/v1/sql``: exactly one read-only statement over the lake.

The guard is lexical, and errs on refusing. A statement passes when:

1. it is one statement: a ``;`` may only end it (comments and blanks may follow);
2. it starts with SELECT, WITH, FROM, VALUES, TABLE, DESCRIBE, SHOW, SUMMARIZE,
   PIVOT, UNPIVOT or EXPLAIN;
3. no bare word anywhere is a statement keyword that writes or changes state
   (INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, ATTACH, DETACH, COPY, EXPORT,
   IMPORT, INSTALL, LOAD, SET, RESET, PRAGMA, CALL, CHECKPOINT, VACUUM, BEGIN,
   COMMIT, ROLLBACK, USE, PREPARE, EXECUTE, ...);
4. no function called is one that reads files or the network, scans another
   database, reveals secrets or settings, or changes the lake (``read_*``,
   ``*_scan``, ``glob``, ``query``, ``getenv``, ``ducklake_*``, ...);
5. no relation is a file: a string literal, or a quoted name holding ``.``,
   ``/``, ``\\``, ``:``, ``*`` or ``?``, right after FROM, JOIN, a comma of a
   FROM list, DESCRIBE, SHOW, SUMMARIZE or TABLE is refused (DuckDB would read
   ``FROM 'x.csv'`` or ``FROM "x.parquet"`` as a file);
6. the DuckLake catalog's own tables (``__ducklake_metadata_*``) stay hidden;
7. so do the access-control tables (``auth_*``: users, tokens, grants, audit),
   for every caller, admins included (admins read the audit through its API);
8. it has no parameters (``?``, ``$1``, ``$name``): nothing is bound to them;
9. rule 4 holds for the system views spelled without parentheses
   (``duckdb_databases``, ``pragma_database_list``, ``pg_settings``), and for the
   functions that read a table named by a string (``table_changes``,
   ``table_insertions``, ``table_deletions``, ``histogram``: the string could name
   ``auth_users``);
10. a lake table is named alone: ``lake.runs`` or ``main.runs`` is refused, since
    the name stands for the rows the caller may read (:mod:`.sql_view`).

For a caller who is not an admin (``restricted``) the statement must also pass:

11. it starts with SELECT, WITH, FROM or VALUES, and DESCRIBE, SHOW, SUMMARIZE
    and EXPLAIN appear nowhere (they describe the database, not the caller's rows);
12. nothing is qualified by a catalog or schema (``lake.``, ``main.``,
    ``memory.``, ``system.``, ``temp.``, ``information_schema.``, ``pg_catalog.``);
13. of the introspection functions and views only those describing columns,
    types, functions and keywords pass: nothing that counts rows or files
    (``duckdb_tables``, ``table_info``, ``snapshots``, ``pg_class``);
14. the tables the caller's view hides (``hidden``: the materializer's own) are
    refused by name.

Behind this guard the reader's database instance has external access switched
off and its configuration locked (:func:`runstream.query.read.session.lock_down`),
and runs each statement under a row limit and a time limit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from runstream.errors import SqlRejectedError
from runstream.lake.connection import CATALOG
from runstream.lake.tables import TABLES_BY_NAME

MAX_SQL_LENGTH = 100_000


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_FIRST_WORDS = _words("SELECT WITH FROM VALUES TABLE DESCRIBE SHOW SUMMARIZE PIVOT UNPIVOT EXPLAIN")
_RESTRICTED_FIRST_WORDS = _words("SELECT WITH FROM VALUES")
_RESTRICTED_WORDS = _words("DESCRIBE SHOW SUMMARIZE EXPLAIN")
_FORBIDDEN_WORDS = _words(
    """
    INSERT UPDATE DELETE MERGE UPSERT CREATE DROP ALTER TRUNCATE ATTACH DETACH COPY EXPORT
    IMPORT INSTALL LOAD FORCE SET RESET PRAGMA CALL CHECKPOINT VACUUM BEGIN COMMIT ROLLBACK
    ABORT TRANSACTION USE GRANT REVOKE PREPARE EXECUTE DEALLOCATE SECRET COMMENT
    """
)
_FORBIDDEN_FUNCTIONS = _words(
    """
    glob query query_table getenv current_setting set_variable which_secret
    load_aws_credentials sniff_csv checkpoint force_checkpoint json_execute_serialized_sql
    enable_logging disable_logging truncate_duckdb_logs pg_settings pg_prepared_statements
    table_changes table_insertions table_deletions histogram histogram_values options settings
    set_option set_commit_message merge_adjacent_files
    """
)
_FORBIDDEN_PREFIXES = tuple(
    _words("read_ parquet_ ducklake_ iceberg_ delta_ sqlite_ postgres_ mysql_ pragma_ from_")
    | _words("http s3_ azure_ gcs_")
)
_FORBIDDEN_SUFFIXES = ("_scan", "_query", "_execute", "_attach", "_secret", "_secrets")
# Introspection that only describes the lake's tables; every other duckdb_*
# function can reveal paths, settings or secrets.
_ALLOWED_DUCKDB = _words(
    """
    duckdb_tables duckdb_columns duckdb_views duckdb_types duckdb_functions duckdb_keywords
    duckdb_schemas duckdb_constraints duckdb_indexes
    """
)
# Introspection that only describes columns, types and functions: what a caller who
# is not an admin may call (duckdb_tables counts rows; table_info counts files).
_RESTRICTED_DUCKDB = _words("duckdb_columns duckdb_types duckdb_functions duckdb_keywords")
_RESTRICTED_FUNCTIONS = _words("snapshots table_info last_committed_snapshot")
# Names that qualify a catalog or a schema; a lake table's name must stand alone.
_QUALIFIERS = _words(f"{CATALOG} main memory system temp information_schema pg_catalog")
_LAKE_TABLES = frozenset(TABLES_BY_NAME)
# System views spelled like functions (no parentheses needed).
_SYSTEM_PREFIXES = ("duckdb_", "pragma_", "pg_", "sqlite_")
_RELATION_WORDS = _words("FROM JOIN DESCRIBE SHOW SUMMARIZE TABLE")
_CLAUSE_END = _words(
    """
    WHERE GROUP HAVING ORDER LIMIT OFFSET QUALIFY WINDOW UNION EXCEPT INTERSECT SELECT
    RETURNING USING SAMPLE
    """
)
# Words after which "(" opens a subquery or a list, not a function call.
_NOT_CALLS = _words(
    """
    IN EXISTS FROM JOIN AS ANY ALL SOME ON WHERE AND OR NOT SELECT WITH UNION EXCEPT
    INTERSECT HAVING BY WHEN THEN ELSE CASE LATERAL USING VALUES RECURSIVE OVER FILTER WITHIN
    DISTINCT RETURNING LIMIT OFFSET QUALIFY MATERIALIZED IS LIKE ILIKE BETWEEN EXPLAIN TABLE
    PIVOT UNPIVOT SUMMARIZE DESCRIBE
    """
)
_FILE_CHARS = re.compile(r"[./\\:*?]")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_DOLLAR = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")


@dataclass(frozen=True)
class _Tok:
    kind: str  # word, ident (double-quoted), string, punct, other
    text: str
    pos: int


def _reject(message: str, pos: int | None = None) -> SqlRejectedError:
    where = f" (at character {pos})" if pos is not None else ""
    return SqlRejectedError(message + where)


def _tokens(sql: str) -> list[_Tok]:
    """Split SQL into words, quoted identifiers, strings and punctuation; drop comments."""
    out: list[_Tok] = []
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c.isspace():
            i += 1
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            if end < 0:
                raise _reject("unterminated /* comment", i)
            i = end + 2
        elif c == "'" or (c in "eE" and sql.startswith("'", i + 1)):
            start = i
            escapes = c != "'"
            i += 2 if escapes else 1
            chunk: list[str] = []
            while True:
                if i >= n:
                    raise _reject("unterminated string", start)
                if escapes and sql[i] == "\\":
                    chunk.append(sql[i + 1 : i + 2])
                    i += 2
                elif sql[i] == "'":
                    if sql.startswith("'", i + 1):
                        chunk.append("'")
                        i += 2
                    else:
                        i += 1
                        break
                else:
                    chunk.append(sql[i])
                    i += 1
            out.append(_Tok("string", "".join(chunk), start))
        elif c == '"':
            start, i = i, i + 1
            chunk = []
            while True:
                if i >= n:
                    raise _reject("unterminated quoted name", start)
                if sql[i] == '"':
                    if sql.startswith('"', i + 1):
                        chunk.append('"')
                        i += 2
                        continue
                    i += 1
                    break
                chunk.append(sql[i])
                i += 1
            out.append(_Tok("ident", "".join(chunk), start))
        elif c == "$" and (tag := _DOLLAR.match(sql, i)) is not None:
            end = sql.find(tag.group(), tag.end())
            if end < 0:
                raise _reject("unterminated $-quoted string", i)
            out.append(_Tok("string", sql[tag.end() : end], i))
            i = end + len(tag.group())
        elif (word := _WORD.match(sql, i)) is not None:
            out.append(_Tok("word", word.group(), i))
            i = word.end()
        else:
            out.append(_Tok("punct" if c in "(),;." else "other", c, i))
            i += 1
    return out


def _function_refused(name: str) -> bool:
    low = name.lower()
    if low.startswith("duckdb_"):
        return low not in _ALLOWED_DUCKDB
    return (
        low in _FORBIDDEN_FUNCTIONS
        or low.startswith(_FORBIDDEN_PREFIXES)
        or low.endswith(_FORBIDDEN_SUFFIXES)
    )


def _restricted_name_refused(name: str, *, called: bool) -> bool:
    """Rule 13 for one name: introspection beyond columns, types and functions."""
    low = name.lower()
    if low.startswith("duckdb_"):
        return low not in _RESTRICTED_DUCKDB
    if low.startswith(("pg_", "sqlite_")):
        return not called  # pg_typeof() is a function; pg_class is a view of row counts
    return called and low in _RESTRICTED_FUNCTIONS


@dataclass(frozen=True)
class Statement:
    """A statement that passed the guard.

    Attributes:
        text: the statement from its first word, without a final ``;``.
        first: its first word, upper case (``SELECT``, ``WITH``, ...).
        with_end: for a statement starting ``WITH [RECURSIVE]``, the offset in
            ``text`` just after those words (its first query's name follows); else 0.
        recursive: whether it starts ``WITH RECURSIVE``.
        explain_end: for ``EXPLAIN [ANALYZE] ...``, the offset after those words; else 0.
    """

    text: str
    first: str
    with_end: int = 0
    recursive: bool = False
    explain_end: int = 0


def check_sql(
    sql: str, *, restricted: bool = False, hidden: frozenset[str] = frozenset()
) -> Statement:
    """Return the statement if it passes the rules above (11-14 only when ``restricted``).

    Args:
        sql: the caller's text.
        restricted: the caller is not an admin (rules 11-14).
        hidden: the tables rule 14 refuses by name (lower case).

    Raises:
        SqlRejectedError: with the rule it broke and where.
    """
    if not isinstance(sql, str) or not sql.strip():
        raise _reject("empty SQL: send one SELECT statement")
    if len(sql) > MAX_SQL_LENGTH:
        raise _reject(f"SQL is {len(sql)} characters long; the limit is {MAX_SQL_LENGTH}")
    if "\x00" in sql:
        raise _reject("SQL must not contain NUL characters")
    tokens = _tokens(sql)
    semis = [t for t in tokens if t.text == ";" and t.kind == "punct"]
    if semis and (len(semis) > 1 or tokens[-1] is not semis[0]):
        raise _reject("only one statement is allowed", semis[0].pos)
    body = [t for t in tokens if t.kind != "punct" or t.text != ";"]
    if not body:
        raise _reject("empty SQL: send one SELECT statement")
    first = body[0]
    starts = _RESTRICTED_FIRST_WORDS if restricted else _FIRST_WORDS
    if first.kind != "word" or first.text.upper() not in starts:
        allowed = ", ".join(sorted(starts))
        why = " (DESCRIBE, SHOW, SUMMARIZE, ... are for admins)" if restricted else ""
        raise _reject(
            f"only read-only queries are allowed: start with one of {allowed}{why}", first.pos
        )
    _check_tokens(body)
    if restricted:
        _check_restricted(body, hidden)
    end = semis[0].pos if semis else len(sql)
    return _statement(sql[first.pos : end].rstrip(), body, first.pos)


def _statement(text: str, body: list[_Tok], start: int) -> Statement:
    """The :class:`Statement` of ``text`` (``body``'s tokens, which start at ``start``)."""
    words = [t.text.upper() if t.kind == "word" else "" for t in body[:2]]
    second_end = body[1].pos - start + len(body[1].text) if len(body) > 1 else 0
    first_end = len(body[0].text)
    if words[0] == "WITH":
        recursive = len(words) > 1 and words[1] == "RECURSIVE"
        return Statement(text, "WITH", second_end if recursive else first_end, recursive)
    if words[0] == "EXPLAIN":
        analyze = len(words) > 1 and words[1] == "ANALYZE"
        return Statement(text, "EXPLAIN", explain_end=second_end if analyze else first_end)
    return Statement(text, words[0])


def _check_tokens(body: list[_Tok]) -> None:
    parens: list[bool] = []  # True: the "(" opened a function call
    relation_depth: set[int] = set()
    expect_relation = False
    prev: _Tok | None = None
    for index, tok in enumerate(body):
        upper = tok.text.upper() if tok.kind == "word" else ""
        depth = len(parens)
        if expect_relation:
            expect_relation = False
            if tok.kind == "string" or (tok.kind == "ident" and _FILE_CHARS.search(tok.text)):
                raise _reject("reading files is not allowed: query the lake's tables", tok.pos)
        named = tok.kind in ("word", "ident")
        low = tok.text.lower() if named else ""
        if low.startswith("__ducklake_metadata"):
            raise _reject("the lake catalog's internal tables are not queryable", tok.pos)
        if low.startswith("auth_"):
            raise _reject("the access-control tables are not queryable", tok.pos)
        if tok.kind == "word" and upper in _FORBIDDEN_WORDS:
            raise _reject(f"{upper} is not allowed: the SQL endpoint is read-only", tok.pos)
        if tok.kind == "other" and tok.text in ("?", "$"):
            raise _reject("parameters ($1, ?) are not supported: write the values in", tok.pos)
        # A subquery inside a call's parentheses (ARRAY(SELECT ...), or FROM-first
        # right after "(") has relations of its own: check them like any other.
        if (
            parens
            and parens[-1]
            and (
                upper in ("SELECT", "WITH")
                or (upper == "FROM" and prev is not None and prev.text == "(")
            )
        ):
            parens[-1] = False
        nxt = body[index + 1] if index + 1 < len(body) else None
        called = nxt is not None and nxt.text == "(" and named
        if (
            called
            and (tok.kind == "ident" or upper not in _NOT_CALLS)
            and _function_refused(tok.text)
        ):
            raise _reject(f"function {tok.text}() is not allowed", tok.pos)
        if named and not called and low.startswith(_SYSTEM_PREFIXES) and _function_refused(low):
            raise _reject(f"{tok.text} is not allowed: it describes the server", tok.pos)
        if (
            low in _LAKE_TABLES
            and prev is not None
            and prev.kind == "punct"
            and prev.text == "."
            and index >= 2
            and body[index - 2].text.lower() in _QUALIFIERS
        ):
            raise _reject(
                f"name the lake's tables alone ({tok.text}, not "
                f"{body[index - 2].text}.{tok.text}): each name stands for the rows you may read",
                tok.pos,
            )
        if tok.kind == "punct" and tok.text == "(":
            is_call = (
                prev is not None
                and prev.kind in ("word", "ident")
                and (prev.kind == "ident" or prev.text.upper() not in _NOT_CALLS)
            )
            parens.append(is_call)
        elif tok.kind == "punct" and tok.text == ")":
            relation_depth.discard(depth)
            if parens:
                parens.pop()
        elif upper in _RELATION_WORDS and not (parens and parens[-1]):
            expect_relation = True
            relation_depth.add(depth)
        elif upper in _CLAUSE_END:
            relation_depth.discard(depth)
        elif tok.kind == "punct" and tok.text == "," and depth in relation_depth:
            expect_relation = True
        prev = tok


def _check_restricted(body: list[_Tok], hidden: frozenset[str]) -> None:
    """Rules 11-14: what a caller who is not an admin may not name."""
    for index, tok in enumerate(body):
        if tok.kind == "word" and tok.text.upper() in _RESTRICTED_WORDS:
            raise _reject(f"{tok.text.upper()} is for admins", tok.pos)
        if tok.kind not in ("word", "ident"):
            continue
        low = tok.text.lower()
        nxt = body[index + 1] if index + 1 < len(body) else None
        if nxt is not None and nxt.text == "." and nxt.kind == "punct" and low in _QUALIFIERS:
            raise _reject(
                f"{tok.text}. is not allowed: name the lake's tables alone (runs, metrics, ...)",
                tok.pos,
            )
        called = nxt is not None and nxt.text == "("
        if _restricted_name_refused(low, called=called):
            shown = f"{tok.text}()" if called else tok.text
            raise _reject(f"{shown} is for admins: it describes more than your rows", tok.pos)
        if low in hidden:
            raise _reject(f"{tok.text} is for admins: the service's internal tables", tok.pos)


__all__ = ["MAX_SQL_LENGTH", "Statement", "check_sql"]
