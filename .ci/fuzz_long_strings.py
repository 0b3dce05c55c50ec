"""Schemathesis hooks for `make fuzz-api`: the long-string strategy.

Generated strings respect the schema's lengths, so on their own they never
reach what broke before: a 3 KB session id or username went past Postgres's
btree row limit (about 2.7 KB) and answered 500. Here every body, query and
path parameter also comes, some of the time, with each string stretched to
a few kilobytes; the server must answer those with a documented 4xx like any
other bad input. Hypothesis draws the choice, so FUZZ_SEED reproduces it.
"""

import schemathesis
from hypothesis import strategies as st

LONG = 3 * 1024


def stretched(value):
    if isinstance(value, str):
        return value + "x" * LONG
    if isinstance(value, dict):
        return {key: stretched(item) for key, item in value.items()}
    if isinstance(value, list):
        return [stretched(item) for item in value]
    return value


def sometimes_stretched(value):
    return st.sampled_from([value, stretched(value)])


@schemathesis.hook
def flatmap_body(context, body):
    return sometimes_stretched(body)


@schemathesis.hook
def flatmap_query(context, query):
    return sometimes_stretched(query)


@schemathesis.hook
def flatmap_path_parameters(context, path_parameters):
    return sometimes_stretched(path_parameters)
