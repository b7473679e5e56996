"""Event notifications (webhooks): parties subscribe to kinds of events and are told of them
by signed HTTP requests, so that forwarders' and customs' systems need not poll.

* ``subscriptions``: the use cases (create, list, read, delete, resume, send a test event);
* ``kinds``: what one can subscribe to and which events of a shipment's log each kind is;
* ``targets``: the checks of a subscriber's URL (scheme, credentials, SSRF);
* ``signing``: ``Exchange-Signature: t=...,v1=<HMAC-SHA256>`` and its check;
* ``sender``: one signed request; ``notifier``: the fan-out of the event log and the
  sending loop, with the outbox's lease, retries, backoff, dead letters and replays;
* ``errors``: the tree of this feature's errors.
"""
