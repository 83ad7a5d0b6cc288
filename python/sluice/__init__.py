"""sluice: Python tasks and flows on sluice's shared result cache.

    from sluice import task, Flow, RedisCache

    @task(cache_key="add_numbers")
    def add_numbers(a, b):
        return a + b

    with Flow("Add Numbers Flow") as flow:
        result = add_numbers(5, 10)
    flow.set_task_cache(RedisCache(host="localhost", port=6379, db=0))
    flow.run()

Keys and entries are those of C workers (docs/CACHING.md), so Python and
C tasks of one name and version share results. docs/PYTHON.md is the
guide.
"""

import logging as _logging
import os as _os
import sys as _sys

from .caches import CacheError, LmdbCache, RedisCache
from .engine import Future, TaskFailed, TaskState
from .flows import Flow, FlowState, flow
from .tasks import (ProgramTask, RemoteTask, Task, program_task,
                    remote_task, task)


class PrefectResult:
    """Accepted where Prefect code passes result=PrefectResult(): sluice
    keeps every cached result in the task's cache, so there is nothing
    more to configure."""


__all__ = ["task", "Task", "remote_task", "RemoteTask", "program_task",
           "ProgramTask", "flow", "Flow", "FlowState", "RedisCache",
           "LmdbCache", "CacheError", "Future", "TaskFailed", "TaskState",
           "PrefectResult"]


def _log_to_stderr():
    """What each task did, on stderr, as Prefect shows it, unless the
    program configured logging itself; $SLUICE_LOG_LEVEL (default INFO)
    sets the level."""
    log = _logging.getLogger("sluice")
    log.setLevel(_os.environ.get("SLUICE_LOG_LEVEL", "INFO").upper())
    if not log.handlers and not _logging.getLogger().handlers:
        h = _logging.StreamHandler(_sys.stderr)
        h.setFormatter(_logging.Formatter("sluice | %(message)s"))
        log.addHandler(h)
        log.propagate = False


_log_to_stderr()
