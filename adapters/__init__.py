"""Per-country customs adapters: the contract, the registry, the reference adapters,
the members file, the customs simulator and the conformance kit.

How the hub uses them (the dispatcher)::

    from adapters import AdapterContext, DeliveryEnvelope, default_registry, load_members

    members = load_members(path, base_dir=exchange_home)        # MembersFileError if bad
    adapter = default_registry().for_member(members["UZ"], context=AdapterContext(signer=s))
    try:
        result = adapter.deliver(envelope)     # DeliveryResult: delivered | delivered-with-
    except RetryableDeliveryError:             #   warnings | acknowledged | awaiting-pull |
        ...                                    #   rejected (result.reason)
    except PermanentDeliveryError:
        ...
    batch = adapter.collect_decisions()        # store batch.decisions by decision_id, then
    adapter.confirm_collected(batch)

Dependency direction: ``exchange -> adapters -> signing``; nothing here touches the database
or imports ``exchange``. Importing this package stays light (no httpx, FastAPI or pydifact).
"""
from __future__ import annotations

from adapters.contract import (
    Adapter, AdapterContext, AdapterFactory, CustomsDecision, DecisionBatch, DecisionKind,
    DeliveryEnvelope, DeliveryResult, DeliveryStatus, DutyLine, EnvelopeSigner, Reason,
    RenderedPayload,
)
from adapters.errors import (
    AdapterConfigError, AdapterError, DeliveryError, InvalidMessageError, MalformedCusresError,
    MembersFileError, PermanentDeliveryError, ResponseError, RetryableDeliveryError,
    SettingError, UnknownAdapterError,
)
from adapters.members import CAREC_MEMBERS, Member, Members, load_members
from adapters.registry import AdapterRegistry, default_registry

__all__ = [
    "Adapter", "AdapterContext", "AdapterFactory", "CustomsDecision", "DecisionBatch",
    "DecisionKind", "DeliveryEnvelope", "DeliveryResult", "DeliveryStatus", "DutyLine",
    "EnvelopeSigner", "Reason", "RenderedPayload",
    "AdapterConfigError", "AdapterError", "DeliveryError", "InvalidMessageError",
    "MalformedCusresError", "MembersFileError", "PermanentDeliveryError", "ResponseError",
    "RetryableDeliveryError", "SettingError", "UnknownAdapterError",
    "CAREC_MEMBERS", "Member", "Members", "load_members", "AdapterRegistry", "default_registry",
]
