"""Duties and fees: the payment ledger of each shipment, from customs assessment to release.

The domain (no I/O):
    money.py           exact-decimal Money in ISO 4217 minor units
    entries.py         what is recorded: assessments, payments, refunds, adjustments, guarantees
    balances.py        what follows from a leg's entries: balance, state, due times
    ledger.py          the rules that admit an entry; the in-memory Ledger; release decisions
    camt054.py         the ISO 20022 bank file reader (camt.054 notifications, camt.053
                       statements, .001.02 and later)
    reconciliation.py  bank transactions matched to assessments by RF reference
    errors.py          every error of the payments (the tree is drawn there)

The use cases, over the store:
    posting.py         post_entries (the one write path), retrying
    gate.py            ledger_gate: assessments, guarantees, the release gate of decisions
    paying.py          post_payment / record_payment: payments and refunds
    bank_files.py      import_camt054 (each file checked against its version's XSD),
                       unmatched_transactions
    views.py           payments_view, payments_page, entry_view
    providers.py       payment providers' secrets and request signatures
    access.py          who may do what, and which shipments a caller reaches
    rows.py            the values above to and from the store's ledger rows
    secretbox.py       secrets sealed at rest (AES-256-GCM)
    service.py         the old import path of the use cases, until nothing imports it
"""
