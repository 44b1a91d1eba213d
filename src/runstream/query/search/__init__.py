"""Run search, pure: grammar, planner, cursor and page tokens, and two executors.

- ``lexer`` -> ``syntax`` (the tree) -> ``parser``: MLflow's filter and order_by
  language; ``simple_filter`` the smaller grammar of experiment and registry
  listings on the same lexer.
- ``planner``: a validated :class:`~runstream.query.search.planner.RunSearch`,
  its :class:`~runstream.query.search.planner.Cursor` (decoded once from a page
  token) and the :class:`~runstream.query.search.planner.Executor` protocol.
- Executors, each ``search(plan, cursor) -> Page | None``: ``index`` (the runs of
  one snapshot in memory; None for what it does not evaluate like the SQL) and
  ``sql`` (one parameterized SELECT; always answers).
- ``page_token`` (the opaque token format) and ``paging`` (offset tokens of the
  small listings).

Nothing here opens a connection: the SQL executor runs its statement through a
function it is given.
"""
