import pytest

pytestmark = pytest.mark.anyio


async def test_me_answers_with_the_caller(api, team):
    data = await api.data("{ me { name role } }", token=team.acme["sam"].token)
    assert data["me"] == {"name": "Sam Senior", "role": "ENGINEER"}
