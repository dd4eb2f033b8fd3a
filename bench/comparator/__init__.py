"""The limit comparator: the same API answers from hand-written SQL (one statement per read) and
orjson, with no framework layers, for the benchmark to measure Conduit API against."""
