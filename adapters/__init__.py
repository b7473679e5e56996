"""Per-country customs adapters: the contract, the registry, the reference adapters,
the members file, the customs simulator and the conformance kit.

Dependency direction: ``exchange -> adapters -> signing``; nothing here touches the database
or imports ``exchange``.
"""
from __future__ import annotations
