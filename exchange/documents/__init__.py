"""Documents and shipments: submission, amendments, tracking.

* :mod:`~exchange.documents.submission`: the use cases that store (open a shipment with its
  documents, add a document or an amended version);
* :mod:`~exchange.documents.tracking`: reading them back within the caller's scope (a
  shipment, a page of them, the event log, a stored document);
* :mod:`~exchange.documents.pipeline`: what every document goes through (inspect, then store);
* :mod:`~exchange.documents.dossier`: the cross-document checks of a shipment;
* :mod:`~exchange.documents.signatures`: the hub's seal and the members' signature checks;
* :mod:`~exchange.documents.views`: rows to the JSON the API answers with;
* :mod:`~exchange.documents.status`: a shipment's status in words, from its legs;
* :mod:`~exchange.documents.errors`: this package's errors.

Nothing is imported here: ``exchange.services`` imports the pipeline's types, and the
submodules import feature packages (payments, delivery) that a bare import should not load.
"""
