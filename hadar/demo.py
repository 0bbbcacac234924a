"""The demo workspace `make run` creates: a tenant, a few leads, and a fresh test key."""

from __future__ import annotations

from hadar.domain.scope import Scope
from hadar.services import keys, leads

DEMO_LEADS = [
    {
        "name": "Aisha Khan",
        "phone": "+971501234567",
        "email": "aisha@example.com",
        "source": "bayut",
        "budget_aed": 1800000,
        "bedrooms": 2,
        "area": "Dubai Marina",
    },
    {
        "name": "Omar Saeed",
        "phone": "+971559876543",
        "source": "property_finder",
        "budget_aed": 3500000,
        "bedrooms": 3,
        "area": "Palm Jumeirah",
        "handover_horizon": "off_plan_2027",
    },
    {
        "name": "فاطمة الزهراء",
        "phone": "050 765 4321",
        "source": "Dubizzle",
        "budget_aed": 950000,
        "bedrooms": 1,
        "area": "Jumeirah Village Circle",
    },
]


async def seed_demo(*, secret: str) -> str:
    """Ensure the demo tenant (enterprise plan) and its leads; return a new test admin key."""
    minted = await keys.mint_for_tenant(
        slug="demo", environment="test", role="admin", secret=secret, plan="enterprise"
    )
    scope = Scope(
        tenant_id=minted.key.tenant_id, environment="test", role="admin", key_id=minted.key.id
    )
    for data in DEMO_LEADS:
        await leads.create_lead(scope=scope, data=data)
    return minted.token
