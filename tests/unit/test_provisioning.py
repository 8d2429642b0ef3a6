"""CreateStore in milliseconds: one signup, one store, whatever answer is lost.
In-memory jobs, fake Ecwid clients answering from a script, no HTTP."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from ecwid_cloner.ecwid.reseller import PartnerStore
from ecwid_cloner.ecwid.store_creation import CreatedStore, StoreEmailTakenError
from ecwid_cloner.errors import EcwidRetryableError, EcwidTerminalError
from ecwid_cloner.models import CloneRequest, Merchant
from ecwid_cloner.state import CloneState, ProvisionedStore
from ecwid_cloner.steps.create_store import CLOCK_SKEW_SECONDS, StoreProvisioning
from tests.fake_ecwid import FakeResellerClient, FakeStoreCreator
from tests.memory_stores import MemoryJobs

CLONE_ID = "m-abc"
MERCHANT = Merchant("owner@example.com", "Owner")
REQUEST = CloneRequest(1003, None, merchant=MERCHANT, new_store=True)


@pytest.fixture
def jobs(clock):
    jobs = MemoryJobs(clock)
    jobs.record_intent(CLONE_ID, REQUEST)  # as the entry point writes it, merchant and all
    return jobs


def _lost() -> EcwidRetryableError:
    return EcwidRetryableError("TIMEOUT", "Ecwid did not answer in time")


def _taken() -> StoreEmailTakenError:
    return StoreEmailTakenError("A store with this e-mail exists")


def _provisioning(jobs, creator, tokens=None, reseller=None, token_unknown=None):
    saved = {} if tokens is None else tokens
    return StoreProvisioning(
        lambda: creator,
        jobs,
        save_token=saved.__setitem__,
        mark_token_unknown=token_unknown or (lambda store_id: True),
        reseller_factory=lambda: reseller,
    )


def _create(provisioning):
    return provisioning.create_store(CloneState(CLONE_ID, REQUEST))


def test_a_new_store_becomes_the_target_and_its_token_goes_to_the_token_store_only(jobs):
    tokens: dict[int, str] = {}
    state = _create(_provisioning(jobs, FakeStoreCreator([CreatedStore(7001, "secret-token")]), tokens))
    assert state.request.target_store_id == 7001 and state.store == ProvisionedStore(7001, token_saved=True)
    assert tokens == {7001: "secret-token"}
    assert "secret-token" not in repr(state.to_state()) and "secret-token" not in repr(jobs.items)
    job = jobs.get(CLONE_ID)
    assert job.target_store_id == 7001 and job.store_token_saved and job.status == "CREATING_STORE"


def test_a_rerun_after_the_store_was_made_goes_on_with_it_and_posts_nothing(jobs):
    _create(_provisioning(jobs, FakeStoreCreator([CreatedStore(7001, "secret-token")])))
    creator = FakeStoreCreator()  # nothing scripted: a POST would fail the test
    state = _create(_provisioning(jobs, creator))
    assert state.request.target_store_id == 7001 and creator.posted == []


def test_an_email_taken_at_the_first_post_is_the_merchants_own_error(jobs):
    with pytest.raises(EcwidTerminalError) as refused:
        _create(_provisioning(jobs, FakeStoreCreator([_taken()])))
    assert refused.value.code == "MERCHANT_EMAIL_EXISTS"


def test_a_lost_creation_answer_without_a_reseller_key_ends_store_create_answer_lost(jobs):
    creator = FakeStoreCreator([_lost(), _taken()])
    provisioning = _provisioning(jobs, creator)
    with pytest.raises(EcwidRetryableError):
        _create(provisioning)
    with pytest.raises(EcwidTerminalError) as lost:
        _create(provisioning)
    assert lost.value.code == "STORE_CREATE_ANSWER_LOST" and "reseller panel" in lost.value.message
    assert lost.value.message.startswith(_taken().message), "what Ecwid said, for the operator"
    assert MERCHANT.email not in lost.value.message, "the message goes into events: no e-mail"
    assert len(creator.posted) == 2 and jobs.get(CLONE_ID).target_store_id is None


def test_a_lost_creation_answer_with_a_reseller_key_goes_on_into_the_one_store_found(jobs, clock):
    reseller = FakeResellerClient([PartnerStore(7002, MERCHANT.email)])
    provisioning = _provisioning(jobs, FakeStoreCreator([_lost(), _taken()]), reseller=reseller)
    first_post = clock.now
    with pytest.raises(EcwidRetryableError):
        _create(provisioning)
    clock.advance(60)
    state = _create(provisioning)
    assert state.request.target_store_id == 7002 and state.store == ProvisionedStore(7002, token_saved=False)
    assert reseller.asked == [(MERCHANT.email, first_post - CLOCK_SKEW_SECONDS)], "stores made since the first POST"
    job = jobs.get(CLONE_ID)
    assert job.target_store_id == 7002 and job["storeTokenUnknown"] is True


def test_after_a_conflict_a_rerun_looks_again_and_never_posts_again(jobs):
    reseller = FakeResellerClient([PartnerStore(7002, MERCHANT.email), PartnerStore(7003, MERCHANT.email)])
    creator = FakeStoreCreator([_lost(), _taken()])
    provisioning = _provisioning(jobs, creator, reseller=reseller)
    with pytest.raises(EcwidRetryableError):
        _create(provisioning)
    for _ in range(2):
        with pytest.raises(EcwidTerminalError) as lost:
            _create(provisioning)
        assert lost.value.code == "STORE_CREATE_ANSWER_LOST" and "2 stores" in lost.value.message
    assert len(creator.posted) == 2 and len(reseller.asked) == 2


def test_a_found_store_whose_token_another_provisioning_kept_is_not_this_signups(jobs):
    reseller = FakeResellerClient([PartnerStore(7002, MERCHANT.email)])
    provisioning = _provisioning(
        jobs, FakeStoreCreator([_lost(), _taken()]), reseller=reseller, token_unknown=lambda store_id: False
    )
    with pytest.raises(EcwidRetryableError):
        _create(provisioning)
    with pytest.raises(EcwidTerminalError) as lost:
        _create(provisioning)
    assert lost.value.code == "STORE_CREATE_ANSWER_LOST" and jobs.get(CLONE_ID).target_store_id is None


def test_a_token_that_cannot_be_saved_does_not_fail_a_store_that_exists(jobs):
    def unreachable(store_id: int, token: str) -> None:
        raise ClientError({"Error": {"Code": "InternalServiceError", "Message": "down"}}, "CreateSecret")

    provisioning = _provisioning(jobs, FakeStoreCreator([CreatedStore(7001, "secret-token")]))
    provisioning.save_token = unreachable
    state = _create(provisioning)
    assert state.store == ProvisionedStore(7001, token_saved=False) and jobs.get(CLONE_ID).target_store_id == 7001
