"""examples/bench/python_tasks.py: the tasks `sluice bench` calls (echo,
add, sum), in Python, so that the bench measures Python workers:

    examples/bench/cluster.sh --python --workers 1 --slots 2 fanout

They compute what the C built-ins of the same name and version compute,
so they share their cache entries."""

from sluice import task


@task
def echo(*args):
    """echo(x): x; echo(x, y, ...): the list of its arguments."""
    return args[0] if len(args) == 1 else list(args)


@task
def add(a, b):
    return a + b


@task(name="sum")
def total(xs):
    return sum(xs)
