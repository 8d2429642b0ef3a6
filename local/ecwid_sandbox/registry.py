"""The sandbox's state: one `StoreRegistry`, put together from each API's part, and the default stores.

The stores themselves (stores.py) with, on top of them, the Clone API's tickets
(clone_tickets.py), the stores POST /api/v3/stores makes (store_creation.py), the store
profiles (store_profile.py), the Instant Sites (instant_site.py) and the partner's stores
the Reseller API acts on (reseller_stores.py). All share the one lock of `StoreBook`.
"""

from __future__ import annotations

from typing import Any

from .clone_tickets import CloneTickets
from .instant_site import InstantSites
from .profiles import template_profile
from .reseller_stores import PartnerStores
from .store_creation import StoreCreation
from .store_profile import StoreProfiles
from .stores import StoreShape


class StoreRegistry(CloneTickets, StoreCreation, StoreProfiles, InstantSites, PartnerStores):
    def stats(self) -> dict:
        with self._lock:  # one moment for every figure
            tickets = self.ticket_stats()
            return {
                "acceptedClones": tickets["acceptedClones"],
                "acceptedClonesTotal": tickets["acceptedClonesTotal"],
                "instantSiteClones": self.instant_site_clones(),
                "tickets": tickets["tickets"],
            }


def seed_default_stores(registry: StoreRegistry) -> None:
    """The stores the local stack and tests rely on (see the package docstring)."""

    def add(store_id: int, **shape: Any) -> None:
        registry.add_store(store_id, StoreShape(**shape))

    add(
        1003,
        products=500,
        categories=40,
        product_types=3,
        demo_products=2,
        destination_zones=3,
        profile=template_profile(1003),
    )
    # The template's Instant Site has its own name (its SEO title, its browser tab) and e-mail.
    registry._stores[1003].site_profile.update(storeName="Template Bakery Co. | Fresh bread daily")
    add(1004, products=5000, categories=200)
    add(1005, products=10, categories=2, responding=False)
    # New stores come with sample items; they must not make a target non-empty.
    fresh = {"demo_products": 2, "demo_categories": 1}
    for store_id in (*range(2001, 2301), *range(4001, 5001)):  # 4001..5000: the tests' fresh targets
        add(store_id, **fresh)
    add(3001, clone_allowed=False, **fresh)
    add(3002, products_limit=10, **fresh)
    add(3003, categories_limit=5, **fresh)
    add(3004, destination_zones_limit=0, **fresh)
    add(3005, products=1, **fresh)
    add(3006, categories=1, **fresh)
    add(3007, product_types=1, **fresh)
    add(3008, responding=False, **fresh)  # the spec's "Target store failed to respond"
