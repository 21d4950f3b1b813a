-- Idempotency-Key records for POST /todos and PATCH/DELETE /todos/:id (docs/todos.md): one row per key,
-- inserted in the same transaction as the write it guards, so the key, the write and the stored answer
-- commit or vanish together. Keys are global (one namespace for every client and route); the request
-- fingerprint makes a key reused for another request an error, not a replay of the wrong answer.
--
-- idempotency_key: printable ASCII as sent, compared byte for byte (ascii_bin: "Abc" and "abc" differ).
-- fingerprint: sha256 hex of method, path, If-Match and the canonical JSON body.
-- response_*: the answer to replay. NULL only inside the transaction that claimed the key, which fills
-- them before it commits, so no other session ever reads a key row without its answer.
-- expires_at: computed by the database from its own clock (every worker agrees); purged in small batches
-- by the keyed writes themselves (server/idempotency/store.ts), hence the index.
CREATE TABLE IF NOT EXISTS test.idempotency_keys (
  idempotency_key VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  fingerprint CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  response_status SMALLINT UNSIGNED NULL,
  response_headers TEXT NULL,
  response_body TEXT NULL,
  created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  expires_at TIMESTAMP(3) NOT NULL,
  PRIMARY KEY (idempotency_key),
  KEY idempotency_keys_expires_at (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
