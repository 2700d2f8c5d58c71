"""Loss-free ingest: MQTT adapter, decode/validate pipeline, rejects, batch writer, raw-data schema.

Exceptions::

    IngestError
     └── WriterUnavailable   the database cannot take the batch now (retried; nothing is acknowledged)
"""
