"""The exchange store: SQLAlchemy 2 rows, repositories, unit of work, migrations."""
from .engine import Engines, create_engines
from .migrate import upgrade
from .repositories import Scope
from .uow import UnitOfWork, UnitOfWorkFactory, register_repository

__all__ = [
           "Engines",
           "Scope",
           "UnitOfWork",
           "UnitOfWorkFactory",
           "create_engines",
           "register_repository",
           "upgrade",
]
