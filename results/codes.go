package results

import "github.com/imload/imload/protocol"

// CodeText says what an error code means (SPEC.md section 5 and the frame
// errors of docs/PROTOCOL.md); "" for a code it does not know.
func CodeText(code int) string {
	switch code {
	case 0:
		return "failed without a code (transport error)"
	// Account codes of the login service.
	case protocol.CodeSigExpired:
		return "ticket expired"
	case protocol.CodeSigEmpty:
		return "ticket empty"
	case protocol.CodeSigUndecodable:
		return "ticket cannot be parsed"
	case protocol.CodeSigBadSignature:
		return "ticket verification failed (another key)"
	case protocol.CodeSigUserMismatch:
		return "UserID differs from the ticket's"
	case protocol.CodeSigAppMismatch:
		return "SDKAppID differs from the ticket's"
	case protocol.CodeKeyNotFound:
		return "key not found"
	case protocol.CodeAppNotFound:
		return "SDKAppID not found"
	case protocol.CodeSigRateLimited:
		return "too many failed verifications: retry after a minute"
	case protocol.CodeBlacklisted:
		return "account blacklisted"
	case protocol.CodeSigInvalidated:
		return "ticket invalidated (login state revoked)"
	case protocol.CodeNotImported:
		return "account not imported"
	// SDK codes.
	case protocol.CodeClientSigExpired:
		return "ticket expired (client side)"
	case protocol.CodeKickedWhileOff:
		return "kicked while offline"
	case protocol.CodeNotLoggedIn:
		return "not logged in, or kicked"
	case protocol.CodeNotInitialised:
		return "SDK not initialised"
	case protocol.CodeInProgress:
		return "operation already in progress"
	case protocol.CodeInvalidParam:
		return "invalid parameter"
	case protocol.CodeInvalidUserID:
		return "invalid UserID"
	case protocol.CodeTooOften:
		return "API called too often"
	// REST common codes.
	case 60002:
		return "bad HTTP request"
	case 60003:
		return "bad JSON"
	case 60004, 60005:
		return "account or signature wrong in the request"
	case 60006:
		return "SDKAppID invalid"
	case 60007, 60011:
		return "rate limited"
	case 60010:
		return "needs the app admin"
	case 60012:
		return "SDKAppID missing"
	case 60020:
		return "no valid package"
	case 60021:
		return "source IP not allowed"
	// Frame errors of imload's protocol.
	case protocol.CodeBadFrame:
		return "malformed frame"
	case protocol.CodeUnknownOp:
		return "unknown op"
	case protocol.CodeFrameTooBig:
		return "frame too big"
	case protocol.CodeNoHello:
		return "frame before hello"
	case protocol.CodeBadVersion:
		return "unsupported protocol version"
	case protocol.CodeResumeFailed:
		return "resume token unknown"
	case protocol.CodeServerClosed:
		return "server shutting down"
	case protocol.CodeLoginRefused:
		return "login refused: it conflicts with sessions online (device limit full or instance online)"
	}
	return ""
}
