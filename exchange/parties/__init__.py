"""Parties (forwarders, customs authorities, operators, payment providers), their API keys,
and who may see what (:func:`~exchange.parties.keys.scope_of`)."""
