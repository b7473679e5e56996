"""Delivery: documents routed to the customs authorities on a shipment's route, and their
answers coming back.

    routing.py      which countries get which document type (rules, a TOML file)
    outbox.py       delivery rows written with the document; replay and acknowledge rows
    dispatcher.py   claim due deliveries, hand them to adapters, collect customs decisions
    attempts.py     one delivery attempt: its envelope, the push, what its outcome writes
    decisions.py    record a customs decision; a leg's and a shipment's status
    customs.py      the customs side's use cases: inbox, acknowledge, decide, who may
                    (the authority; the hub's help desk where the members file allows)
    deliveries.py   the operators' and forwarders' use cases: listings, dead letters, replay
    errors.py       the errors above, drawn as a tree

Entry points (API, dashboard, CLI) call :mod:`.customs` and :mod:`.deliveries`; the
dispatcher is wired by :func:`exchange.bootstrap.build_dispatcher`. Modules are imported by
their full names (nothing is re-exported here, so loading one loads only what it needs).
"""
