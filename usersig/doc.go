// Package usersig generates and verifies TLSSigAPIv2 tickets (UserSig), the
// login credential of Tencent Cloud Chat, byte-compatible with the official
// implementations (shared/usersig.md; vectors in testdata/).
//
// Gen makes the same bytes as Tencent's Go implementation. Decode reads any
// ticket the official implementations make: any key order and whitespace,
// zero fields left out, any zlib level, member names in any letter case
// (matched as encoding/json matches the official verifier's struct fields),
// and documents of any size in stored blocks, as Gen and the official
// generator write for a long user buffer; a compressed document may inflate
// to at most 8 times its compressed size (at least 4 KiB), the bound against
// decompression bombs. Verify checks a ticket for a login in
// the reference order (SDKAppID, UserID, expiry, user buffer, signature) and
// fails with a *Error that carries the service's code: 70001 expired, 70002
// empty, 70003 undecodable, 70009 bad signature, 70013 UserID mismatch,
// 70014 SDKAppID mismatch.
//
// Verify is on the login hot path: tickets in stored zlib blocks (the Go
// implementation's output) are read in place and the HMAC is computed on the
// stack, so a verification costs a handful of small allocations.
//
// The package imports nothing of imload's and holds no state: the caller
// passes the time, so tests need no clock.
package usersig
