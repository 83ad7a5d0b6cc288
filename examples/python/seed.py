# The seed example: the blog post's Prefect flow, with only its imports
# changed to sluice's. The first run computes add_numbers(5, 10) = 15 and
# stores it in Redis under "add_numbers"; a second run, in a new process,
# is served from Redis, and so is `sluice run examples/seed.yaml` with C
# workers: the key and the entry are the same (docs/PYTHON.md).
#
#   PYTHONPATH=build/python python3 examples/python/seed.py
#
# $SLUICE_CACHE_URL=redis://HOST:PORT/DB sends it to another Redis, as a C
# worker's --cache does.
from sluice import task, Flow, RedisCache, PrefectResult


@task(cache_key="add_numbers", result=PrefectResult())
def add_numbers(a, b):
    return a + b


cache = RedisCache(host="localhost", port=6379, db=0)

with Flow("Add Numbers Flow") as flow:
    result = add_numbers(5, 10)

flow.set_task_cache(cache)
flow.run()
