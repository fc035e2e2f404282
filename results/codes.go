package results

import "github.com/imload/imload/codes"

// CodeText says what an error code means (the catalogue of package codes);
// "" for a code it does not know. Code 0 on a failed operation means the
// transport failed before any answer.
func CodeText(code int) string { return CodeTextFor("", code) }

// CodeTextFor is CodeText in the words of a target (results.Target.Kind:
// embedded, inproc, ws, xmpp): a driver that maps its protocol's errors to
// the catalogue's codes says what each stands for there.
func CodeTextFor(target string, code int) string {
	if code == codes.OK {
		return "failed without a code (transport error)"
	}
	return codes.TextFor(target, code)
}
