"""Tasks a Python worker serves in tests/python/test_worker.py. Each
computation appends its name to $PYTASKS_CALLS, so a test can tell a
computation from a cache hit."""

import os
import time

from sluice import task


def note(name):
    path = os.environ.get("PYTASKS_CALLS")
    if path:
        with open(path, "a") as f:
            f.write(f"{name} {os.getpid()}\n")


@task
def add_numbers(a, b):
    note("add_numbers")
    return a + b


@task(version=2)
def shout(text, *, mark="!"):
    note("shout")
    return text.upper() + mark


@task(cache=False)
def nap(seconds):
    note("nap")
    time.sleep(seconds)
    return seconds


@task
def boom(x):
    raise ValueError(f"boom {x}")
