// Package relay forwards OpenTelemetry logs from clients that must not hold
// the Logfire write token (browsers, mobile apps, desktop programs) to
// Logfire or any OTLP/HTTP receiver.
//
// A client sends OTLP JSON to POST /api/v1/telemetry/logs with
// Authorization: Bearer <session JWT>. The relay:
//
//  1. verifies the JWT with the one kind of key configured (an HMAC secret,
//     an RSA or ECDSA public key, or a JWKS URL), accepting only that key's
//     algorithms, requiring exp and sub, checking nbf with a small clock
//     skew and the issuer and audience when set, refusing a token issued in
//     the future (iat beyond the skew) or valid for longer than
//     Config.MaxTokenLifetime (RELAY_JWT_MAX_LIFETIME, default 24h: exp-iat,
//     or exp-now for a token without iat); anything else is 401 with
//     {"error":"unauthorized"} and no detail;
//  2. takes one token from the user's (sub) and the session's (sid, else
//     jti, else the token) bucket, or answers 429 with Retry-After;
//  3. reads at most MaxBodyBytes (1 MiB) and, for Content-Encoding: gzip, at
//     most MaxBodyBytes after decompression (413 otherwise), and checks the
//     shape of an ExportLogsServiceRequest (400 otherwise);
//  4. stamps the authenticated identity into every resource (see below);
//  5. posts the body upstream with the server's token in Authorization (the
//     client's headers are never forwarded) and answers with the upstream's
//     status and body; an upstream 5xx, or 401/403 (a bad server token), is
//     502 and an upstream timeout is 504.
//
// # Identity stamping
//
// Unless Config.DisableIdentityStamping is set, the relay sets the resource
// attribute enduser.id to the token's sub and session.id to its sid (else
// jti; none when the token has neither), in every resourceLogs entry,
// dropping any enduser.id or session.id the client sent there, and drops
// every enduser.id and session.id from the attributes of each scope and each
// log record (under the JSON and the proto field names alike): a client
// cannot log as someone else at any level. Only those attribute arrays
// change; every other byte is forwarded as received. A gzip body is decompressed, stamped and
// compressed again (gzip level BestSpeed). With stamping disabled the body
// is forwarded byte for byte, compressed or not, after the same checks.
//
// # Rate limits and replicas
//
// Buckets live in the process. Several replicas behind a load balancer each
// grant the full per-user rate, so the effective limit is multiplied by the
// replica count. Buckets that have refilled are dropped by a sweeper, so
// memory follows the users active in the last few seconds.
package relay
