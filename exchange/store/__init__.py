"""The exchange store: SQLAlchemy 2 rows, repositories, unit of work, migrations."""
from exchange.store.engine import Engines, create_engines
from exchange.store.migrate import upgrade
from exchange.store.filters import ShipmentFilter
from exchange.store.repositories import Scope
from exchange.store.uow import UnitOfWork, UnitOfWorkFactory

__all__ = [
           "Engines",
           "Scope",
           "ShipmentFilter",
           "UnitOfWork",
           "UnitOfWorkFactory",
           "create_engines",
           "upgrade",
]
