"""What a metrics run (``metrics.runner``) leaves behind in the process, on the cache of
tests/cache/test_asof_and_restatements.py."""

from __future__ import annotations

import gc

from restrat_sync.cache import Cache
from tests.cache import test_asof_and_restatements as october


def test_the_run_leaves_the_collector_on_and_its_objects_in_the_oldest_generation(
    cache: Cache,
) -> None:
    """The collector is paused during the run only; what the run allocated meanwhile is handed
    to the oldest generation, so that the next collection does not walk it all to promote it."""
    october.sync(cache, october.FIRST_SYNC, october.story(2), growth=["PAY-2"])
    gc.collect()
    run = october.compute(cache, october.CLOSE)
    assert gc.isenabled()
    oldest = {id(found) for found in gc.get_objects(generation=2)}
    assert id(run.periods[0].results) in oldest
    assert id(run.prepared.items) in oldest
