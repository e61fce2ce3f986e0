"""Login throttling: its system-tier tests (the whole story: tests/api/test_login_throttle.py)."""

import httpx
import pytest

from tests.support.login_throttle import LOGIN

pytestmark = pytest.mark.anyio


async def test_behind_a_trusted_proxy_the_forwarded_address_counts(serve, team):
    """One server trusting the proxy at 127.0.0.1: behind it, each client is counted by the
    address the proxy forwards for. A peer it does not trust (127.0.0.2: Linux routes all of
    127.0.0.0/8 to the loopback) is counted by its own address, whatever header it sends."""
    server = serve(
        HANDOFF_LOGIN_MAX_FAILURES="100",
        HANDOFF_LOGIN_MAX_FAILURES_PER_ADDRESS="2",
        FORWARDED_ALLOW_IPS="127.0.0.1",
    )

    async def login(client: httpx.AsyncClient, email: str, forwarded_for: str) -> str:
        response = await client.post(
            "/graphql",
            json={"query": LOGIN, "variables": {"email": email, "password": "nope"}},
            headers={"x-forwarded-for": forwarded_for},
        )
        return response.json()["data"]["login"]["__typename"]

    # The trusted proxy first: the untrusted peer then names the address its clients used up
    # (were the header believed, the peer's first try would be throttled).
    for peer, trusted in (("127.0.0.1", True), ("127.0.0.2", False)):
        transport = httpx.AsyncHTTPTransport(local_address=peer)
        client = httpx.AsyncClient(base_url=server.url, timeout=30, transport=transport)
        domain = "behind-the-proxy.test" if trusted else "untrusted-peer.test"
        async with client:
            for n in range(2):
                answer = await login(client, f"guess{n}@{domain}", "198.51.100.1")
                assert answer == "InvalidCredentials", peer
            answer = await login(client, f"guess9@{domain}", "198.51.100.1")
            assert answer == "LoginThrottled", peer
            # Another client behind the same proxy: its own address if the proxy is trusted.
            other = await login(client, f"guess10@{domain}", "198.51.100.2")
        assert other == ("InvalidCredentials" if trusted else "LoginThrottled"), peer
