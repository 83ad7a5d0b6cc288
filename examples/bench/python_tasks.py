"""examples/bench/python_tasks.py: the tasks `sluice bench` calls (echo,
add, sum), in Python, so that the bench measures Python workers:

    examples/bench/cluster.sh --python --workers 1 --slots 2 fanout

Each computes what the C built-in of its name and version computes
(docs/TASKS.md, "Built-in tasks"), so they share cache entries."""

from sluice import task

INT_MIN, INT_MAX = -(2**63), 2**63 - 1


def fold(who, numbers, is_mul):
    """The C built-ins' add and mul: ints stay ints and fail on 64-bit
    overflow; any double makes the result the double accumulated over
    every argument in order."""
    acc, dacc, is_double = (1, 1.0, False) if is_mul else (0, 0.0, False)
    for i, x in enumerate(numbers):
        if isinstance(x, bool) or not isinstance(x, (int, float)):
            raise TypeError(f"{who}: argument {i + 1} is a "
                            f"{type(x).__name__}, not a number")
        dacc = dacc * x if is_mul else dacc + x
        if isinstance(x, float):
            is_double = True
            continue
        acc = acc * x if is_mul else acc + x
        if not INT_MIN <= acc <= INT_MAX:
            raise OverflowError(f"{who}: integer overflow")
    return dacc if is_double else acc


@task
def echo(*args):
    """echo(x): x; echo(x, y, ...): the list of its arguments."""
    return args[0] if len(args) == 1 else list(args)


@task
def add(*numbers):
    return fold("add", numbers, False)


@task(name="sum")
def total(numbers):
    if not isinstance(numbers, list):
        raise TypeError("sum takes one argument, a list of numbers")
    return fold("sum", numbers, False)
