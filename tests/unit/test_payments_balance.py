"""The event payload's balance figures, computed on Decimals for speed, are exactly
:meth:`exchange.payments.entries.Balance.to_dict` for any sums in any currency."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from exchange.payments.balances import Balance
from exchange.payments.money import Money
from exchange.payments.views import balance_view as _balance_dict


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["UZS", "JPY", "KWD", "AFN", "KZT"]),
       st.lists(st.integers(-10**9, 10**9), min_size=4, max_size=4),
       st.integers(0, 3))
def test_balance_dict_is_to_dict(currency, minors, assessments):
    figures = [Money.from_minor(abs(m) if i != 1 else m, currency)
               for i, m in enumerate(minors)]
    balance = Balance("UZ", currency, *figures, assessments)
    assert _balance_dict(balance) == balance.to_dict()
