"""`handoff-desk worker` on its own (the API processes with HANDOFF_RUN_WORKERS=false) serves
what its jobs count at its own /metrics, when given a port: an assessment it lands is there."""

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.factories import make_escalation
from tests.server import free_port
from tests.waiting import wait_for

pytestmark = pytest.mark.anyio


async def test_a_worker_serves_the_counts_of_its_own_jobs(serve, desk, team):
    port = free_port()
    serve("worker", ready=False, HANDOFF_WORKER_METRICS_PORT=str(port))
    await make_escalation(desk, team.acme["alex"])
    url = f"http://127.0.0.1:{port}/metrics"

    async def landed() -> dict | None:
        try:
            async with httpx.AsyncClient() as client:
                text = (await client.get(url)).text
        except httpx.TransportError:
            return None  # not listening yet
        samples = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }
        count = ("handoff_desk_assessment_duration_seconds_count", (("assessor", "rules"),))
        return samples if samples.get(count) == 1 else None

    samples = await wait_for(landed, "the worker's metrics to show the assessment", timeout=60)
    assert not [name for name, _ in samples if name.endswith("_created")]
    assert samples[("process_resident_memory_bytes", ())] > 0
