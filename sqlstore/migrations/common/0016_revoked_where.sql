-- Where a credential's revocation took effect: 'steward' (Steward verifies
-- the credential and refuses it), 'provider' (the provider confirmed it) or
-- 'inventory only' (only marked here; the secret may still work where it is
-- used). Credentials revoked before this migration: Steward-issued ones
-- (they have a digest) were enforced by Steward, the others only marked.
ALTER TABLE credentials ADD COLUMN revoked_where TEXT NOT NULL DEFAULT '';
UPDATE credentials SET revoked_where = CASE WHEN digest IS NOT NULL THEN 'steward' ELSE 'inventory only' END
    WHERE status = 'revoked' OR revoked_at IS NOT NULL;
