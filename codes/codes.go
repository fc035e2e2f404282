// Package codes is the one catalogue of the error codes imload's targets
// answer with and their meanings: the account and SDK codes of the login
// service (SPEC.md section 5), the frame codes of imload's protocol
// (docs/PROTOCOL.md section 7) and the codes of the REST admin API. The
// server, the drivers, the agent and the results file all read it; it
// imports nothing of imload.
package codes

import "slices"

// Codes of login, logout and resume results and of error frames.
const (
	OK = 0
	// Account codes of the login service.
	SigExpired      = 70001
	SigEmpty        = 70002
	SigUndecodable  = 70003
	SigBadSignature = 70009
	SigUserMismatch = 70013
	SigAppMismatch  = 70014
	KeyNotFound     = 70016
	AppNotFound     = 70020
	SigRateLimited  = 70050
	Blacklisted     = 70051
	SigInvalidated  = 70052
	NotImported     = 70107
	// SDK codes.
	ClientSigExpired = 6206
	KickedWhileOff   = 6208
	NotLoggedIn      = 6014
	NotInitialised   = 6013
	InProgress       = 6015
	InvalidParam     = 6017
	InvalidUserID    = 7003
	TooOften         = 7008
	// Frame-level errors of imload's protocol (not Tencent codes).
	BadFrame     = 1001 // malformed JSON or missing fields
	UnknownOp    = 1002
	FrameTooBig  = 1003
	NoHello      = 1004 // a frame other than hello before hello
	BadVersion   = 1005
	ResumeFailed = 1006 // resume token unknown or session gone
	ServerClosed = 1007 // server shutting down
	// LoginRefused: the login is refused because it conflicts with the
	// user's sessions online (a device limit is full, or its instance is
	// online): the server keeps the sessions and turns the newcomer away
	// instead of kicking (policy on_conflict: refuse_new).
	LoginRefused = 1008
	// Answers of the reference server's protections (off by default; see
	// docs/STORMS.md): the app's login rate limit (a token bucket), the
	// login start buckets (max_concurrency) and the per-device flapping
	// ban. Each says "not now": a client backs off per its reconnect policy
	// and tries again (RetryLater).
	LoginTooFrequent = 1010
	LoginBucketBusy  = 1011
	FlappingBanned   = 1012
	// ServerFull: the login is refused because the server already holds
	// as many sessions as it may (the reference server's max_sessions);
	// nothing changed at the server and a later login may succeed.
	ServerFull = 1009
)

// Codes of the REST admin API (ErrorCode), besides the ticket codes a bad
// admin ticket gets as is and NotImported.
const (
	RESTBadHTTP     = 60002 // not POST, unknown service or command, body too large or unreadable
	RESTBadJSON     = 60003 // body is not JSON of the command's shape
	RESTNoIdentity  = 60004 // identifier or usersig missing from the URL
	RESTBadURL      = 60005 // random is not a 32-bit unsigned integer
	RESTBadApp      = 60006 // sdkappid is not this app's
	RESTRateLimited = 60007 // too many REST calls
	RESTNotAdmin    = 60010 // identifier is not the app admin
	RESTAppLimited  = 60011 // too many REST calls of this app
	RESTNoApp       = 60012 // sdkappid missing from the URL
	RESTNoPackage   = 60020 // no valid package
	RESTIPRefused   = 60021 // source IP not allowed
	RESTNotImported = NotImported
	RESTBadParam    = 70402 // a field of the body is missing or invalid
)

// Info is one code of the catalogue.
type Info struct {
	Code int
	Name string // the constant of this package
	Text string // what the code means, for reports
}

// catalogue is every code with its meaning, in the order of the constants.
var catalogue = []Info{
	{OK, "OK", "success"},
	{SigExpired, "SigExpired", "ticket expired"},
	{SigEmpty, "SigEmpty", "ticket empty"},
	{SigUndecodable, "SigUndecodable", "ticket cannot be parsed"},
	{SigBadSignature, "SigBadSignature", "ticket verification failed (another key)"},
	{SigUserMismatch, "SigUserMismatch", "UserID differs from the ticket's"},
	{SigAppMismatch, "SigAppMismatch", "SDKAppID differs from the ticket's"},
	{KeyNotFound, "KeyNotFound", "key not found"},
	{AppNotFound, "AppNotFound", "SDKAppID not found"},
	{SigRateLimited, "SigRateLimited", "too many failed verifications: retry after a minute"},
	{Blacklisted, "Blacklisted", "account blacklisted"},
	{SigInvalidated, "SigInvalidated", "ticket invalidated (login state revoked)"},
	{NotImported, "NotImported", "account not imported"},
	{ClientSigExpired, "ClientSigExpired", "ticket expired (client side)"},
	{KickedWhileOff, "KickedWhileOff", "kicked while offline"},
	{NotLoggedIn, "NotLoggedIn", "not logged in, or kicked"},
	{NotInitialised, "NotInitialised", "SDK not initialised"},
	{InProgress, "InProgress", "operation already in progress"},
	{InvalidParam, "InvalidParam", "invalid parameter"},
	{InvalidUserID, "InvalidUserID", "invalid UserID"},
	{TooOften, "TooOften", "API called too often"},
	{BadFrame, "BadFrame", "malformed frame"},
	{UnknownOp, "UnknownOp", "unknown op"},
	{FrameTooBig, "FrameTooBig", "frame too big"},
	{NoHello, "NoHello", "frame before hello"},
	{BadVersion, "BadVersion", "unsupported protocol version"},
	{ResumeFailed, "ResumeFailed", "resume token unknown"},
	{ServerClosed, "ServerClosed", "server shutting down"},
	{LoginRefused, "LoginRefused", "login refused: it conflicts with sessions online (device limit full or instance online)"},
	{LoginTooFrequent, "LoginTooFrequent", "logins too frequent: the app's login rate limit; back off and retry"},
	{LoginBucketBusy, "LoginBucketBusy", "login start bucket busy (max_concurrency): back off and retry"},
	{FlappingBanned, "FlappingBanned", "device banned for reconnecting too often (flapping): back off and retry after the ban"},
	{ServerFull, "ServerFull", "login refused: the server holds its most sessions (max_sessions)"},
	{RESTBadHTTP, "RESTBadHTTP", "bad HTTP request"},
	{RESTBadJSON, "RESTBadJSON", "bad JSON"},
	{RESTNoIdentity, "RESTNoIdentity", "account or signature wrong in the request"},
	{RESTBadURL, "RESTBadURL", "account or signature wrong in the request"},
	{RESTBadApp, "RESTBadApp", "SDKAppID invalid"},
	{RESTRateLimited, "RESTRateLimited", "rate limited"},
	{RESTNotAdmin, "RESTNotAdmin", "needs the app admin"},
	{RESTAppLimited, "RESTAppLimited", "rate limited"},
	{RESTNoApp, "RESTNoApp", "SDKAppID missing"},
	{RESTNoPackage, "RESTNoPackage", "no valid package"},
	{RESTIPRefused, "RESTIPRefused", "source IP not allowed"},
	{RESTBadParam, "RESTBadParam", "a field of the request is missing or invalid"},
}

// All returns the catalogue, in the order of the constants.
func All() []Info { return slices.Clone(catalogue) }

// Text says what code means; "" for a code the catalogue does not hold.
func Text(code int) string {
	for _, c := range catalogue {
		if c.Code == code {
			return c.Text
		}
	}
	return ""
}

// RetryLater reports whether code says "not now" rather than "no": the
// answers of the server's protections and a server going away. A client
// backs off per its reconnect policy and tries again; every other code
// keeps the SDK's rule (no new login in a loop).
func RetryLater(code int) bool {
	switch code {
	case LoginTooFrequent, LoginBucketBusy, FlappingBanned, ServerClosed:
		return true
	}
	return false
}

// byDriver holds what a driver means by the codes it maps its protocol's
// refusals to, where that differs from the catalogue's text. The ws, inproc
// and embedded targets speak imload's protocol, whose codes are the
// catalogue's own.
var byDriver = map[string]map[int]string{
	"xmpp": {
		SigEmpty:        "empty password (UserSig)",
		SigUndecodable:  "SASL failure: malformed-request, incorrect-encoding or invalid-authzid",
		SigBadSignature: "SASL failure: not-authorized (wrong password or unknown account)",
		SigExpired:      "SASL failure: credentials-expired",
		SigRateLimited:  "SASL failure: temporary-auth-failure",
		Blacklisted:     "SASL failure: account-disabled",
		InvalidUserID:   "UserID is not a valid XMPP localpart",
		InvalidParam:    "resource bind or session refused (not for a conflict: bad-request, not-allowed, ...)",
		LoginRefused:    "resource bind refused: conflict (the resource is in use and the server keeps its session) or resource-constraint (the account's limit of resources)",
		NotLoggedIn:     "logout while the stream is not logged in",
		ResumeFailed:    "no stream resumption: the device logs in again",
	},
}

// TextFor says what code means coming from the named driver (results'
// target kind: embedded, inproc, ws, xmpp): the driver's own meaning when
// it has one, else Text.
func TextFor(driver string, code int) string {
	if t, ok := byDriver[driver][code]; ok {
		return t
	}
	return Text(code)
}

// Drivers returns the drivers that give some codes a meaning of their own.
func Drivers() []string {
	out := make([]string, 0, len(byDriver))
	for d := range byDriver {
		out = append(out, d)
	}
	slices.Sort(out)
	return out
}

// Known reports whether the catalogue holds code.
func Known(code int) bool { return Text(code) != "" }
