"""Pure domain rules of the connector: delivery receipts, message-id matching, status tracking.

Nothing in this package does I/O or reads a clock: time comes in as arguments (`now`), so every
rule can be tested exhaustively and replayed by the Redis-backed daemon.

- `connector.domain.receipts`: recognise and parse SMSC delivery receipts (text and TLV forms).
- `connector.domain.message_ids`: normalise carrier message ids so a `submit_sm_resp` id and
  the id inside its receipt meet under a shared key.
- `connector.domain.tracker`: the per-recipient status machine (`processing` → `sent` → final)
  and the book that maps receipt ids to parts, holding receipts that arrive early.
"""
